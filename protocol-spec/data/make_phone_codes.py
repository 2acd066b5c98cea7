#!/usr/bin/env python3
"""How phone-codes.tsv was made. Run once at development time; not run in CI.

The committed phone-codes.tsv is the source of truth: cleanroom-core
(`normalize::phone`, through `include_str!`) and the reference checker
(protocol-spec/reference/normalize.py) read it, and neither runs this script.
Changing a line changes which accounts match, so regenerating the table is a
protocol change, reviewed like any other.

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install phonenumbers==9.0.43
    /tmp/venv/bin/python protocol-spec/data/make_phone_codes.py

For every region of libphonenumber's metadata with an ISO 3166-1 alpha-2 code
(not the non-geographic entity 001): the country calling code, the national
(trunk) prefix, and the international call prefix when it is a plain digit
string (`international_prefix`, else `preferred_international_prefix`, taking
the part before a `~` wait marker); a prefix that is only a pattern is left
out (`-`). Only these three plain values are used: the protocol does not
validate numbers against libphonenumber's per-country patterns.
"""

import pathlib

import phonenumbers
from phonenumbers import PhoneMetadata

OUT = pathlib.Path(__file__).resolve().parent / "phone-codes.tsv"

HEADER = """\
# Telephone codes of the cleanroom protocol (PROTOCOL.md section 3.8), one line
# per country: ISO 3166-1 alpha-2 code (lowercase), tab, country calling code,
# tab, national (trunk) prefix, tab, international call prefix; `-` where a
# country has none that is a plain digit string. Derived from libphonenumber's
# metadata (Python `phonenumbers` {version}) by make_phone_codes.py. Lines
# starting with `#` are comments. Part of the protocol: it only changes with a
# new protocol version.
"""


def plain(prefix):
    if prefix is None:
        return None
    prefix = prefix.split("~")[0]
    return prefix if prefix.isdigit() else None


def main():
    lines = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        meta = PhoneMetadata.metadata_for_region(region)
        national = plain(meta.national_prefix) or "-"
        idd = plain(meta.international_prefix) or plain(meta.preferred_international_prefix) or "-"
        lines.append(f"{region.lower()}\t{meta.country_code}\t{national}\t{idd}\n")
    OUT.write_text(HEADER.format(version=phonenumbers.__version__) + "".join(lines))
    print(f"{len(lines)} countries written to {OUT}")


if __name__ == "__main__":
    main()
