#!/usr/bin/env python3
"""An independent check of test-vectors.json, written from PROTOCOL.md alone.

It does not use cleanroom-core: if PROTOCOL.md is precise enough, a second
implementation reproduces every vector checked here. It covers:

- the protocol constants: the version string (with the SHA-256 of the Public
  Suffix List snapshot, section 2) and the domain-separation strings (4.1);
- every case of the normalization section (section 3: domain, name with its
  country column, DUNS, country, city-qualified name with its country and
  city columns, postcode-qualified name with its country and postal-code
  columns, phone-qualified name with its optional country and telephone
  columns), with the reference implementation in
  protocol-spec/reference/ (standard library, plus the PyPI package `idna`
  for the UTS #46 data tables);
- every whole-file case of the accounts section (section 3.6: a CSV in, the
  merged accounts and their keys out), with reference/accounts.py;
- the blinding section's shape (fields, 32-byte encodings, canonical
  scalars and field elements) and its tokens (section 4.4: SHA-256 of
  TOKEN_DST and the double-blinded point), without recomputing ristretto255;
  every key there is a fixed point of section 3;
- the noisy-counts section (stream, uniform integers, discrete Laplace draws,
  95 % half-widths and a whole post-processed release).

It prints one count per section and exits non-zero on any failure.

    python3 protocol-spec/check_vectors.py
"""

import hashlib
import json
import math
import pathlib
import sys

# Importing the reference modules must not leave __pycache__ in the tree.
sys.dont_write_bytecode = True
HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "reference"))

import normalize  # noqa: E402  (protocol-spec/reference/normalize.py)
import accounts  # noqa: E402  (protocol-spec/reference/accounts.py)

VECTORS = json.loads((HERE / "test-vectors.json").read_text(encoding="utf-8"))
NOISE_DST = b"cleanroom-v2-dp-noise"
HASH_TO_GROUP_DST = b"cleanroom-v2-ristretto255_XMD:SHA-512_R255MAP_RO_"
TOKEN_DST = b"cleanroom-v2-match-token"
EPSILON_SCALE = 1_000_000
# ristretto255 (RFC 9496): the field prime and the group order.
FIELD_P = 2**255 - 19
GROUP_L = 2**252 + 27742317777372353535851937790883648493


class Stream:
    """Concatenation of SHA-256(NOISE_DST || seed || u64be(i)), i = 0, 1, ..."""

    def __init__(self, seed: bytes):
        self.seed = seed
        self.counter = 0
        self.buf = b""

    def byte(self) -> int:
        if not self.buf:
            self.buf = hashlib.sha256(
                NOISE_DST + self.seed + self.counter.to_bytes(8, "big")
            ).digest()
            self.counter += 1
        b, self.buf = self.buf[0], self.buf[1:]
        return b

    def u64(self) -> int:
        x = 0
        for _ in range(8):
            x = (x << 8) | self.byte()
        return x

    def uniform_below(self, n: int) -> int:
        rem = (1 << 64) % n
        while True:
            x = self.u64()
            if rem == 0 or x < (1 << 64) - rem:
                return x % n

    def bernoulli(self, num: int, den: int) -> bool:
        return self.uniform_below(den) < num

    def bernoulli_exp(self, num: int, den: int) -> bool:
        if num <= den:
            k = 1
            while self.bernoulli(num, den * k):
                k += 1
            return k % 2 == 1
        for _ in range(num // den):
            if not self.bernoulli_exp(1, 1):
                return False
        return self.bernoulli_exp(num % den, den)

    def discrete_laplace(self, s: int, t: int) -> int:
        while True:
            u = self.uniform_below(t)
            if not self.bernoulli_exp(u, t):
                continue
            v = 0
            while self.bernoulli_exp(1, 1):
                v += 1
            y = (u + t * v) // s
            negative = self.bernoulli(1, 2)
            if negative and y == 0:
                continue
            return -y if negative else y


def sensitivity(k: int, p: int) -> int:
    return 2 * p + k * p + 2 * k * p * p


def ratio(epsilon_micro: int, delta: int):
    s, t = epsilon_micro, delta * EPSILON_SCALE
    g = math.gcd(s, t)
    return s // g, t // g


def half_width(s: int, t: int, level: float = 0.95) -> int:
    q = math.exp(-s / t)
    w = 0
    while 2.0 * q ** (w + 1) / (1.0 + q) > 1.0 - level:
        w += 1
    return w


def difference_half_width(s: int, t: int, level: float = 0.95) -> int:
    q = math.exp(-s / t)
    c = (1.0 - q) / (1.0 + q)

    def p(d):
        return c * c * q**d * (d + (1.0 + q * q) / (1.0 - q * q))

    inside, w = p(0), 0
    while 1.0 - inside > 1.0 - level:
        w += 1
        inside += 2.0 * p(w)
    return w


def release(exact, seed: bytes, epsilon_micro: int, delta: int):
    """Draw order and post-processing of PROTOCOL.md, section "Noisy counts"."""
    s, t = ratio(epsilon_micro, delta)
    st = Stream(seed)
    out = {"vendor": [], "partner": []}
    for side in ("vendor", "partner"):
        for total, matched in exact[side]:
            nt = max(0, total + st.discrete_laplace(s, t))
            nm = min(max(0, matched + st.discrete_laplace(s, t)), nt)
            out[side].append([nt, nm])
    cells = []
    for i, line in enumerate(exact["cells"]):
        row = []
        for j, (v, p) in enumerate(line):
            nv = min(max(0, v + st.discrete_laplace(s, t)), out["vendor"][i][1])
            np_ = min(max(0, p + st.discrete_laplace(s, t)), out["partner"][j][1])
            row.append([nv, np_])
        cells.append(row)
    out["cells"] = cells
    return out


def protocol_version() -> str:
    """Section 2: cleanroom-v2+psl-<first 12 hex digits of SHA-256 of the snapshot>."""
    snapshot = (HERE / "data" / "public_suffix_list.dat").read_bytes()
    return "cleanroom-v2+psl-" + hashlib.sha256(snapshot).hexdigest()[:12]


def normalization_outcome(case):
    """(key, reason) of one normalization case, exactly one of them None."""
    kind, raw = case["kind"], case["raw"]
    try:
        if kind == "domain":
            return normalize.domain_key(raw), None
        if kind == "name":
            return normalize.name_key(raw, case.get("country")), None
        if kind == "duns":
            return normalize.duns_key(raw), None
        if kind == "country":
            return normalize.country(raw), None
        if kind == "city-name":
            return normalize.city_name_key(raw, case["country"], case["city"]), None
        if kind == "postcode-name":
            return normalize.postcode_name_key(raw, case["country"], case["postcode"]), None
        if kind == "phone-name":
            return normalize.phone_name_key(raw, case["country"], case["phone"]), None
    except normalize.Reject as e:
        return None, e.reason
    raise ValueError(f"unknown vector kind {kind!r}")


def is_alpha2(cc: str) -> bool:
    return len(cc) == 2 and cc.isascii() and cc.isalpha() and cc.islower()


def is_fixed_point(key: str) -> bool:
    """A key message that its own value normalizes back to (section 3)."""
    kind, _, value = key.partition(":")
    try:
        if kind == "domain":
            return normalize.domain_key(value) == key
        if kind == "duns":
            return normalize.duns_key(value) == key
        if kind == "name":
            cc, _, tokens = value.partition(":")
            return (cc == "" or is_alpha2(cc)) and normalize.name_tokens(tokens) == tokens
        if kind == "city-name":
            # City tokens never contain ':' (it separates words), so the
            # first two ':' delimit the parts.
            parts = value.split(":", 2)
            if len(parts) != 3:
                return False
            cc, city, tokens = parts
            return (
                is_alpha2(cc)
                and normalize.city(city) == city
                and normalize.name_tokens(tokens) == tokens
            )
        if kind == "postcode-name":
            # A postal code is ASCII letters and digits only.
            parts = value.split(":", 2)
            if len(parts) != 3:
                return False
            cc, code, tokens = parts
            return (
                is_alpha2(cc)
                and normalize.postcode(code, cc) == code
                and normalize.name_tokens(tokens) == tokens
            )
        if kind == "phone-name":
            # A number is '+' and ASCII digits, so the first ':' ends it; it
            # is international, so it needs no country (3.8 step 5).
            number, sep, tokens = value.partition(":")
            return (
                sep == ":"
                and normalize.phone(number, None) == number
                and normalize.name_tokens(tokens) == tokens
            )
    except normalize.Reject:
        return False
    return False


def main() -> int:
    failures = 0

    def check(what, got, want):
        nonlocal failures
        if got != want:
            failures += 1
            print(f"FAIL {what}: got {got!r}, want {want!r}")
        return got == want

    # Per section: [cases passed, cases failed].
    counts = {}

    def tally(section, failures_before):
        counts.setdefault(section, [0, 0])
        if failures == failures_before:
            counts[section][0] += 1
        else:
            counts[section][1] += 1

    # Constants (sections 2 and 4.1).
    for field, want in [
        ("protocol", protocol_version()),
        ("noise_dst", NOISE_DST.decode()),
        ("hash_to_group_dst", HASH_TO_GROUP_DST.decode()),
        ("token_dst", TOKEN_DST.decode()),
    ]:
        before = failures
        check(field, VECTORS.get(field), want)
        tally("constants", before)

    # Normalization (section 3).
    fields = {"kind", "raw", "key", "reason"}
    for i, c in enumerate(VECTORS["normalization"]):
        before = failures
        extra = {
            "name": {"country"},
            "city-name": {"country", "city"},
            "postcode-name": {"country", "postcode"},
            "phone-name": {"country", "phone"},
        }.get(c.get("kind"), set())
        check(f"normalization[{i}] fields", sorted(c), sorted(fields | extra))
        label = f"normalization[{i}] {c.get('kind')} {c.get('raw')!r}"
        if "country" in extra:
            label += f" country {c.get('country')!r}"
        if "city" in extra:
            label += f" city {c.get('city')!r}"
        if "postcode" in extra:
            label += f" postcode {c.get('postcode')!r}"
        if "phone" in extra:
            label += f" phone {c.get('phone')!r}"
        check(label, normalization_outcome(c), (c.get("key"), c.get("reason")))
        tally("normalization", before)

    # Whole files (section 3.6).
    for i, c in enumerate(VECTORS["accounts"]):
        before = failures
        got = accounts.accounts(c["csv"], c["columns"], c["names_without_country"])
        check(f"accounts[{i}] {c['name']!r}", got, c["accounts"])
        tally("accounts", before)

    # Blinding (section 4.5): shape and tokens, not the group arithmetic.
    blinding_fields = [
        "double_blinded", "key", "partner_blinded", "partner_scalar",
        "point", "token", "vendor_blinded", "vendor_scalar",
    ]
    for i, c in enumerate(VECTORS["blinding"]):
        before = failures
        if not check(f"blinding[{i}] fields", sorted(c), blinding_fields):
            tally("blinding", before)
            continue
        raw = {}
        for f in blinding_fields:
            if f == "key":
                continue
            size = 16 if f == "token" else 32
            try:
                raw[f] = bytes.fromhex(c[f])
            except ValueError:
                raw[f] = b""
            check(f"blinding[{i}].{f} is {size} bytes of lowercase hex",
                  (len(raw[f]), c[f] == raw[f].hex()), (size, True))
        for f in ("vendor_scalar", "partner_scalar"):
            x = int.from_bytes(raw[f], "little")
            check(f"blinding[{i}].{f} is a canonical non-zero scalar", 0 < x < GROUP_L, True)
        for f in ("point", "vendor_blinded", "partner_blinded", "double_blinded"):
            x = int.from_bytes(raw[f], "little")
            check(f"blinding[{i}].{f} is a canonical non-identity encoding",
                  x < FIELD_P and x % 2 == 0 and x != 0, True)
        token = hashlib.sha256(TOKEN_DST + raw["double_blinded"]).digest()[:16]
        check(f"blinding[{i}].token", token.hex(), c["token"])
        check(f"blinding[{i}].key {c['key']!r} is a normalized key", is_fixed_point(c["key"]), True)
        tally("blinding", before)

    # Noisy counts (section 9).
    noise = VECTORS["noise"]
    for i, c in enumerate(noise["uniform_below"]):
        before = failures
        st = Stream(bytes.fromhex(c["seed"]))
        bound = int(c["n"])
        check(f"uniform_below[{i}]", [str(st.uniform_below(bound)) for _ in c["values"]], c["values"])
        tally("noise", before)
    for i, c in enumerate(noise["discrete_laplace"]):
        before = failures
        delta = sensitivity(c["max_keys_per_row"], c["max_populations_per_row"])
        check(f"sensitivity[{i}]", delta, c["sensitivity"])
        s, t = ratio(c["epsilon_micro"], delta)
        check(f"ratio[{i}]", (s, t), (c["s"], c["t"]))
        st = Stream(bytes.fromhex(c["seed"]))
        check(f"draws[{i}]", [st.discrete_laplace(s, t) for _ in c["draws"]], c["draws"])
        check(f"half_width[{i}]", half_width(s, t), c["half_width_95"])
        check(f"difference_half_width[{i}]", difference_half_width(s, t), c["difference_half_width_95"])
        tally("noise", before)
    for i, c in enumerate(noise["release"]):
        before = failures
        got = release(c["exact"], bytes.fromhex(c["seed"]), c["epsilon_micro"], c["sensitivity"])
        check(f"release[{i}]", got, c["noisy"])
        tally("noise", before)

    print(
        f"(Unicode data: Python unicodedata {normalize.unicodedata.unidata_version}, "
        f"IDNA tables of the idna package {normalize.uts46.UNICODE_VERSION})"
    )
    for section, (passed, failed) in counts.items():
        print(f"{section}: {passed} passed, {failed} failed")
    passed = sum(p for p, _ in counts.values())
    failed = sum(f for _, f in counts.values())
    print(f"check_vectors: {passed} passed, {failed} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
