#!/usr/bin/env python3
"""Reference implementation of country normalization, from the protocol text alone.

It reads only protocol-spec/data/countries.tsv and uses only the standard
library, so it is an independent check of cleanroom-core's
`normalize::country`. The rule (also in the table's header):

1. A value with no words after step 3 (empty, whitespace or punctuation
   only) is rejected as "empty".
2. Unicode NFKC, full default case folding (str.casefold), NFD, delete every
   combining mark (General_Category M), NFC.
3. Delete apostrophes (U+0027 ', U+2019 ’, U+2018 ‘, U+02BC ʼ,
   U+0060 `) and periods (U+002E); "&" is the word "and"; every other
   character that is not a letter or digit (General_Category L or N)
   separates words; words are joined by single spaces.
4. A leading word "the" is dropped when another word follows.
5. The result is looked up in the table; not found is "unknown-country".

    python3 protocol-spec/reference/country.py "The Netherlands" "U.S.A."
"""

import pathlib
import sys
import unicodedata

TABLE_PATH = pathlib.Path(__file__).resolve().parent.parent / "data" / "countries.tsv"

APOSTROPHES = frozenset("'\u2019\u2018\u02bc`")


class Reject(Exception):
    """A value that gives no country; `reason` is the protocol's reject code."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def load_table(path: pathlib.Path = TABLE_PATH) -> dict:
    """Alias (normalized form) -> lowercase alpha-2 code; '#' lines are comments."""
    table = {}
    for line in path.read_text(encoding="utf-8").split("\n"):
        if not line or line.startswith("#"):
            continue
        alias, code = line.split("\t")
        table[alias] = code
    return table


def normal_form(raw: str) -> str:
    """Steps 2 to 4: the form in which the table stores aliases ('' if no words)."""
    s = unicodedata.normalize("NFKC", raw).casefold()
    s = unicodedata.normalize("NFD", s)
    s = "".join(c for c in s if not unicodedata.category(c).startswith("M"))
    s = unicodedata.normalize("NFC", s)
    words = []
    word = []
    for c in s:
        if c in APOSTROPHES or c == ".":
            continue
        if unicodedata.category(c)[0] in "LN":
            word.append(c)
            continue
        if word:
            words.append("".join(word))
            word = []
        if c == "&":
            words.append("and")
    if word:
        words.append("".join(word))
    if len(words) > 1 and words[0] == "the":
        words = words[1:]
    return " ".join(words)


_TABLE = None


def normalize_country(raw: str) -> str:
    """The lowercase ISO 3166-1 alpha-2 code of `raw`, or raises Reject."""
    global _TABLE
    if _TABLE is None:
        _TABLE = load_table()
    alias = normal_form(raw)
    if not alias:
        raise Reject("empty")
    code = _TABLE.get(alias)
    if code is None:
        raise Reject("unknown-country")
    return code


def main(argv):
    for raw in argv:
        try:
            print(f"{raw!r}\t{normalize_country(raw)}")
        except Reject as e:
            print(f"{raw!r}\treject:{e.reason}")


if __name__ == "__main__":
    main(sys.argv[1:])
