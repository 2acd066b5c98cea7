#!/usr/bin/env python3
"""Reference implementation of key normalization, from PROTOCOL.md section 3 alone.

It reads only the data files of protocol-spec/data/ and uses the standard
library plus the PyPI package `idna` (for the UTS #46 data tables only; see
uts46.py), so it is an independent check of cleanroom-core's `normalize`.

    python3 protocol-spec/reference/normalize.py domain "https://shop.acme.co.uk/x"
    python3 protocol-spec/reference/normalize.py name "Acme Holdings Ltd" "United Kingdom"
    python3 protocol-spec/reference/normalize.py duns 15-048-3782
    python3 protocol-spec/reference/normalize.py city-name "Smith Ltd" UK "Milton Keynes"
    python3 protocol-spec/reference/normalize.py postcode-name "Smith Ltd" UK "MK9 2FZ"
    python3 protocol-spec/reference/normalize.py phone-name "Smith Ltd" UK "020 7946 0123"
    python3 protocol-spec/reference/normalize.py phone-name "Smith Ltd" "" "+44 20 7946 0123"
"""

import pathlib
import sys
import unicodedata

# Importing the reference modules must not leave __pycache__ in the tree.
sys.dont_write_bytecode = True
HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import country as _country  # noqa: E402  (protocol-spec/reference/country.py)
import psl  # noqa: E402
import uts46  # noqa: E402

DATA = HERE.parent / "data"

Reject = _country.Reject

# Unicode White_Space (PropList.txt; unchanged since Unicode 6.3): what
# "trim" and "whitespace" mean throughout section 3.
WHITE_SPACE = frozenset(
    "\t\n\x0b\x0c\r \x85\xa0\u1680"
    + "".join(chr(c) for c in range(0x2000, 0x200B))
    + "\u2028\u2029\u202f\u205f\u3000"
)


def trim(s: str) -> str:
    i, j = 0, len(s)
    while i < j and s[i] in WHITE_SPACE:
        i += 1
    while j > i and s[j - 1] in WHITE_SPACE:
        j -= 1
    return s[i:j]


def table_lines(name: str):
    """The entries of a data file: lines that are neither blank nor '#' comments."""
    for line in (DATA / name).read_text(encoding="utf-8").split("\n"):
        line = trim(line)
        if line and not line.startswith("#"):
            yield line


# --- 3.1 Domain -------------------------------------------------------------

FREE_MAIL_DOMAINS = set()
FREE_MAIL_BRANDS = set()
for _line in table_lines("free-mail.txt"):
    _kind, _value = _line.split(" ", 1)
    {"domain": FREE_MAIL_DOMAINS, "brand": FREE_MAIL_BRANDS}[_kind].add(_value)

ROOT_DOTS = ".\u3002\uff0e\uff61"


def _is_scheme(s: str) -> bool:
    return (
        s != ""
        and s.isascii()
        and s[0].isalpha()
        and all(c.isalnum() or c in "+-." for c in s)
    )


def strip_scheme(s: str) -> str:
    if ":" in s:
        scheme, rest = s.split(":", 1)
        if _is_scheme(scheme):
            after = rest.lstrip("/\\")
            if len(after) < len(rest) or scheme.lower() == "mailto":
                return after
    return s.lstrip("/\\")


def _ipv4(s: str) -> bool:
    parts = s.split(".")
    return len(parts) == 4 and all(
        1 <= len(p) <= 3
        and p.isascii()
        and p.isdigit()
        and (p == "0" or p[0] != "0")
        and int(p) <= 255
        for p in parts
    )


def _hex_group(g: str) -> bool:
    return 1 <= len(g) <= 4 and all(c in "0123456789abcdefABCDEF" for c in g)


def _groups(s: str, allow_ipv4_last: bool):
    """Number of 16-bit groups in a ':'-separated run, or None if malformed."""
    if s == "":
        return 0
    parts = s.split(":")
    n = 0
    for i, p in enumerate(parts):
        if allow_ipv4_last and i == len(parts) - 1 and "." in p:
            if not _ipv4(p):
                return None
            n += 2
        elif _hex_group(p):
            n += 1
        else:
            return None
    return n


def is_ipv6(s: str) -> bool:
    """RFC 4291 section 2.2 text form, optionally followed by '%' and a zone."""
    addr = s.split("%", 1)[0]
    if "::" in addr:
        head, _, tail = addr.partition("::")
        if "::" in tail:
            return False
        h = _groups(head, False)
        t = _groups(tail, True)
        return h is not None and t is not None and h + t <= 7
    return _groups(addr, True) == 8


def strip_port(host_port: str) -> str:
    if host_port.startswith("["):
        inner = host_port[1:].split("]", 1)[0]
        raise Reject("ip-address" if is_ipv6(inner) else "invalid-domain")
    if ":" not in host_port:
        return host_port
    host, port = host_port.split(":", 1)
    if ":" in port:
        raise Reject("ip-address" if is_ipv6(host_port) else "invalid-domain")
    if all("0" <= c <= "9" for c in port):
        return host
    raise Reject("invalid-domain")


def extract_host(raw: str) -> str:
    s = trim(raw)
    if not s:
        raise Reject("empty")
    s = strip_scheme(s)
    end = len(s)
    for c in "/\\?#":
        i = s.find(c)
        if i >= 0:
            end = min(end, i)
    authority = s[:end]
    host = strip_port(authority.rsplit("@", 1)[-1])
    if host and host[-1] in ROOT_DOTS:
        host = host[:-1]
    if not host:
        raise Reject("invalid-domain")
    return host


def domain_value(raw: str) -> str:
    """The registrable domain of a website, domain or e-mail value."""
    host = extract_host(raw)
    try:
        ascii_host = uts46.to_ascii(host)
    except uts46.IdnaError:
        raise Reject("invalid-domain") from None
    if all(label.isdigit() for label in ascii_host.split(".")):
        raise Reject("ip-address")
    try:
        value, suffix, section = psl.registrable(ascii_host)
    except psl.NoRegistrable as e:
        raise Reject(
            {"single-label": "invalid-domain"}.get(e.reason, e.reason)
        ) from None
    if value in FREE_MAIL_DOMAINS:
        raise Reject("free-mail")
    if section == psl.ICANN and value[: -len(suffix) - 1] in FREE_MAIL_BRANDS:
        raise Reject("free-mail")
    return value


def domain_key(raw: str) -> str:
    return "domain:" + domain_value(raw)


# --- 3.2 Company name -------------------------------------------------------

APOSTROPHES = frozenset("'`\u2018\u2019\u02bc\u2032")

_IGNORABLE_RANGES = [
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160),
    (0x17B4, 0x17B5), (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E),
    (0x2060, 0x206F), (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
]


def is_ignorable(c: str) -> bool:
    cp = ord(c)
    return any(lo <= cp <= hi for lo, hi in _IGNORABLE_RANGES)


def is_word_char(c: str) -> bool:
    return unicodedata.category(c)[0] in "LMN"


def is_mark(c: str) -> bool:
    return unicodedata.category(c)[0] == "M"


LEGAL_FORMS = set(table_lines("legal-forms.txt"))
MAX_FORM_TOKENS = max(len(f.split(" ")) for f in LEGAL_FORMS)


def _word_tokens(word: str):
    pieces = [p for p in word.split(".") if p]
    if len(pieces) >= 2 and all(sum(1 for c in p if not is_mark(c)) == 1 for p in pieces):
        return ["".join(pieces)]
    return pieces


def fold(raw: str) -> str:
    """Step 2: NFKC, full default case folding, NFKC."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", raw).casefold())


def tokenize(raw: str):
    """Steps 2 to 4: the tokens of a name."""
    return split_words(fold(raw))


def split_words(s: str):
    """Steps 3 and 4, on a folded value."""
    tokens, word = [], []
    for c in s:
        if c in APOSTROPHES or is_ignorable(c):
            continue
        if c == "." or is_word_char(c):
            word.append(c)
            continue
        tokens += _word_tokens("".join(word))
        word = []
        if c == "&":
            tokens.append("and")
    tokens += _word_tokens("".join(word))
    return tokens


def strip_legal_forms(tokens):
    while True:
        for k in range(min(MAX_FORM_TOKENS, len(tokens) - 1), 0, -1):
            if " ".join(tokens[-k:]) in LEGAL_FORMS:
                tokens = tokens[:-k]
                break
        else:
            return tokens


def _one_pass(raw: str) -> str:
    tokens = tokenize(raw)
    while len(tokens) >= 2 and tokens[0] == "the":
        tokens = tokens[1:]
    tokens = strip_legal_forms(tokens)
    if not tokens or tokens == ["the"]:
        raise Reject("no-name-left")
    return " ".join(tokens)


PLACEHOLDER_NAMES = set(table_lines("placeholder-names.txt"))


def name_tokens(raw: str) -> str:
    if not trim(raw):
        raise Reject("empty")
    value = _one_pass(raw)
    if not value.isascii():
        for _ in range(3):
            nxt = _one_pass(value)
            if nxt == value:
                break
            value = nxt
    if value in PLACEHOLDER_NAMES:  # step 9
        raise Reject("placeholder-name")
    return value


def name_key(raw: str, country_raw=None) -> str:
    cc = ""
    if country_raw is not None:
        try:
            cc = _country.normalize_country(country_raw)
        except Reject:
            cc = ""
    return "name:" + cc + ":" + name_tokens(raw)


def city_name_key(raw_name: str, country_raw: str, raw_city: str) -> str:
    """Section 3.2, "City-qualified name": `city-name:<country>:<city>:<name>`.

    Only with a usable country (3.4), so the country's reasons come first,
    then the name's (3.2), then the city's (3.4, "City")."""
    cc = _country.normalize_country(country_raw)
    name = name_tokens(raw_name)
    return "city-name:" + cc + ":" + city(raw_city) + ":" + name


def postcode_name_key(raw_name: str, country_raw: str, raw_postcode: str) -> str:
    """Section 3.2, "Postcode-qualified name":
    `postcode-name:<country>:<postal code>:<name>`.

    Only with a usable country (3.4), so the country's reasons come first,
    then the name's (3.2), then the postal code's (3.4, "Postal code")."""
    cc = _country.normalize_country(country_raw)
    name = name_tokens(raw_name)
    return "postcode-name:" + cc + ":" + postcode(raw_postcode, cc) + ":" + name


def phone_name_key(raw_name: str, country_raw, raw_phone: str) -> str:
    """Section 3.2, "Phone-qualified name": `phone-name:<number>:<name>`.

    The country is optional: None (no country column value) or a value that
    3.4 rejects is no country, and then only an international number gives
    a key. So the name's reasons come first, then the number's (3.8)."""
    cc = None
    if country_raw is not None:
        try:
            cc = _country.normalize_country(country_raw)
        except Reject:
            cc = None
    name = name_tokens(raw_name)
    return "phone-name:" + phone(raw_phone, cc) + ":" + name


# --- 3.3 DUNS ---------------------------------------------------------------

DUNS_SEPARATORS = frozenset("-.\u2010\u2011\u2012\u2013\u2014\u2212")


def duns_key(raw: str) -> str:
    if not trim(raw):
        raise Reject("empty")
    digits = ""
    for c in raw:
        if c in WHITE_SPACE or c in DUNS_SEPARATORS:
            continue
        if not ("0" <= c <= "9") or len(digits) == 9:
            raise Reject("invalid-duns")
        digits += c
    if len(digits) != 9 or len(set(digits)) == 1:
        raise Reject("invalid-duns")
    return "duns:" + digits


# --- 3.4 Country ------------------------------------------------------------

country = _country.normalize_country


# --- 3.4 City ---------------------------------------------------------------


def strip_latin_accents(s: str) -> str:
    """City step 3: NFD; delete every General_Category Mn code point that
    follows an ASCII letter, directly or after other code points deleted so;
    NFC."""
    out = []
    after_ascii_letter = False
    for c in unicodedata.normalize("NFD", s):
        if unicodedata.category(c) == "Mn":
            if after_ascii_letter:
                continue
        else:
            after_ascii_letter = c.isascii() and c.isalpha()
        out.append(c)
    return unicodedata.normalize("NFC", "".join(out))


def _city_once(raw: str) -> str:
    """City steps 2 to 4."""
    return " ".join(split_words(strip_latin_accents(fold(raw))))


def city(raw: str) -> str:
    """The city tokens of a city column value."""
    if not trim(raw):  # step 1
        raise Reject("empty")
    value = _city_once(raw)
    if not value.isascii():  # step 5
        for _ in range(3):
            nxt = _city_once(value)
            if nxt == value:
                break
            value = nxt
    if not value or value in PLACEHOLDER_NAMES:  # step 6
        raise Reject("unusable-city")
    return value


# --- 3.4 Postal code --------------------------------------------------------

POSTCODE_LENGTH = range(2, 11)  # step 3: 2 to 10 letters and digits
ASCII_ALNUM = frozenset("0123456789abcdefghijklmnopqrstuvwxyz")


def postcode(raw: str, cc: str) -> str:
    """The postal code of a postal-code column value, for the country of
    alpha-2 code `cc`."""
    if not trim(raw):  # step 1
        raise Reject("empty")
    value = "".join(  # step 2
        c.lower() if c.isascii() else c
        for c in unicodedata.normalize("NFKC", raw)
        if c not in WHITE_SPACE and c != "-"
    )
    if (  # step 3
        len(value) not in POSTCODE_LENGTH
        or not all(c in ASCII_ALNUM for c in value)
        or len(set(value)) == 1
    ):
        raise Reject("unusable-postcode")
    if cc == "us" and value.isdigit():  # step 4 (value is ASCII here)
        if len(value) == 9:
            value = value[:5]
        elif len(value) == 4:
            value = "0" + value
        if len(set(value)) == 1:  # a junk ZIP+4 such as 00000-1234
            raise Reject("unusable-postcode")
    return value


# --- 3.8 Telephone number ---------------------------------------------------

# data/phone-codes.tsv: <alpha-2> TAB <calling code> TAB <national prefix>
# TAB <international prefix>, "-" for a prefix the country has none of.
PHONE_CODES = {}
for _line in table_lines("phone-codes.tsv"):
    _cc, _calling, _national, _international = _line.split("\t")
    PHONE_CODES[_cc] = (
        _calling,
        "" if _national == "-" else _national,
        "" if _international == "-" else _international,
    )

# Section 3.8 step 6: calling codes all of whose lines have the national
# prefix `0` (the codes are prefix-free, so at most one starts the digits).
PHONE_TRUNK_ZERO_CODES = {}
for _calling, _national, _ in PHONE_CODES.values():
    PHONE_TRUNK_ZERO_CODES[_calling] = PHONE_TRUNK_ZERO_CODES.get(_calling, True) and _national == "0"

ASCII_DIGITS = frozenset("0123456789")
ASCII_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
EXTENSION_MARKS = frozenset("#;,")
PHONE_DIGITS = range(7, 16)  # step 8: 7 to 15 digits


def _without_trunk_zero(s: str) -> str:
    """Section 3.8 step 4: delete every `(`, White_Space*, `0`, White_Space*,
    `)`, left to right, without overlapping, in one pass."""
    out = []
    i = 0
    while i < len(s):
        if s[i] == "(":
            j = i + 1
            while j < len(s) and s[j] in WHITE_SPACE:
                j += 1
            if j < len(s) and s[j] == "0":
                k = j + 1
                while k < len(s) and s[k] in WHITE_SPACE:
                    k += 1
                if k < len(s) and s[k] == ")":
                    i = k + 1
                    continue
        out.append(s[i])
        i += 1
    return "".join(out)


def phone(raw: str, cc=None) -> str:
    """The telephone number, `+` and digits, of a telephone column value of
    an account whose country has the alpha-2 code `cc` (None: no country)."""
    if not trim(raw):  # step 1
        raise Reject("empty")
    text = unicodedata.normalize("NFKC", raw)  # step 2
    seen_digit = False  # step 3
    for i, c in enumerate(text):
        if c in ASCII_DIGITS:
            seen_digit = True
        elif seen_digit and (c in ASCII_LETTERS or c in EXTENSION_MARKS):
            text = text[:i]
            break
    text = _without_trunk_zero(text)  # step 4
    first = next((c for c in text if c in ASCII_DIGITS or c == "+"), None)  # step 5
    international = first == "+"
    digits = "".join(c for c in text if c in ASCII_DIGITS)
    codes = PHONE_CODES.get(cc) if cc is not None else None
    if not international and codes is not None:  # step 6
        idd = codes[2]
        if idd and digits.startswith(idd):
            digits = digits[len(idd):]
            international = True
    if international:  # step 6, the trunk zero after the calling code
        for n in (1, 2, 3):
            if PHONE_TRUNK_ZERO_CODES.get(digits[:n]) is True:
                digits = digits[:n] + digits[n:].lstrip("0")
                break
    if not international:  # step 7
        if codes is None:
            raise Reject("unusable-phone")
        calling, national, _ = codes
        if national and digits.startswith(national):
            digits = digits[len(national):]
        digits = calling + digits
    if (  # step 8
        len(digits) not in PHONE_DIGITS
        or digits.startswith("0")
        or len(set(digits[-7:])) == 1
    ):
        raise Reject("unusable-phone")
    return "+" + digits


def main(argv):
    kind, *args = argv
    fn = {
        "domain": domain_key,
        "name": name_key,
        "duns": duns_key,
        "country": country,
        "city": city,
        "city-name": city_name_key,
        "postcode": lambda raw, cc: postcode(raw, country(cc)),
        "postcode-name": postcode_name_key,
        "phone": lambda raw, cc="": phone(raw, country(cc) if trim(cc) else None),
        "phone-name": lambda name, cc, raw: phone_name_key(name, cc or None, raw),
    }[kind]
    try:
        print(fn(*args))
    except Reject as e:
        print(f"reject:{e.reason}")


if __name__ == "__main__":
    main(sys.argv[1:])
