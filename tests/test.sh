#!/usr/bin/env bash
# The README's test command: sets up what the tests need on a fresh machine,
# then runs the whole workspace's tests. Extra arguments go to `cargo test`.
#
# - PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth): installed from
#   Debian's packages when missing, started when down. Each test creates and
#   drops its own database; CLEANROOM_TEST_PG (an admin URL) overrides.
# - Chromium and ChromeDriver for the dashboard's browser tests
#   (.ci/dashboard-deps), unless CLEANROOM_SKIP_BROWSER_TESTS=1.
# - Python's `idna` package, pinned, for protocol-spec/check_vectors.py.
# Installing needs root (apt-get), as on the dev and CI machines.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*"; }

if [ -z "${CLEANROOM_TEST_PG:-}" ]; then
  if ! command -v pg_isready >/dev/null 2>&1; then
    say "installing PostgreSQL"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    say "starting PostgreSQL"
    ver=$(ls /etc/postgresql | sort -V | tail -n 1)
    pg_ctlcluster --skip-systemctl-redirect "$ver" main start
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
  pg_isready -h 127.0.0.1 -p 5432
fi

if [ "${CLEANROOM_SKIP_BROWSER_TESTS:-}" != "1" ]; then
  .ci/dashboard-deps
fi

# The spec's independent checker: the standard library plus the IDNA Mapping
# Table and Joining_Type data of the pinned `idna` package (Unicode 17.0).
say "protocol-spec/check_vectors.py"
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore idna==3.13
python3 protocol-spec/check_vectors.py
say "cargo test --workspace $*"
exec cargo test --workspace "$@"
