"""UTS #46 ToASCII with the options of PROTOCOL.md section 3.1, step 6.

Written from the protocol text: UseSTD3ASCIIRules=true, CheckHyphens only
for the first and last position, CheckBidi=true, CheckJoiners=true,
Transitional_Processing=false, VerifyDnsLength=true (no trailing root dot),
IgnoreInvalidPunycode=false.

Data: the IDNA Mapping Table and the Joining_Type property come from the PyPI
package `idna` (only its data tables, `idna.uts46data` and
`idna.idnadata.joining_types`: its own `idna.encode` implements IDNA 2008
rather than these options, for example it rejects `ab--cd` and applies the
CONTEXTO rules). General_Category, Bidi_Class, Canonical_Combining_Class and
NFC come from Python's `unicodedata`. Punycode is RFC 3492, written out below
because Python's codec accepts a leading delimiter that RFC 3492 rejects.
"""

import bisect
import unicodedata

from idna import uts46data as _uts46data
from idna.idnadata import joining_types as _joining_types

_UTS46 = _uts46data.uts46data
# The Unicode version of the mapping table (and of Joining_Type).
UNICODE_VERSION = _uts46data.__version__

_STARTS = [row[0] for row in _UTS46]


class IdnaError(Exception):
    """Any UTS #46 processing or validity error."""


def _status(cp: int):
    """(status, mapping) of a code point in the IDNA Mapping Table.

    status: V valid, D deviation, M mapped, I ignored, X disallowed."""
    row = _UTS46[bisect.bisect_right(_STARTS, cp) - 1]
    return row[1], (row[2] if len(row) > 2 else None)


# --- Punycode (RFC 3492) ---------------------------------------------------

BASE, TMIN, TMAX, SKEW, DAMP, INITIAL_BIAS, INITIAL_N = 36, 1, 26, 38, 700, 72, 128
U32 = 0xFFFFFFFF


def _adapt(delta: int, numpoints: int, firsttime: bool) -> int:
    delta = delta // DAMP if firsttime else delta // 2
    delta += delta // numpoints
    k = 0
    while delta > ((BASE - TMIN) * TMAX) // 2:
        delta //= BASE - TMIN
        k += BASE
    return k + (BASE - TMIN + 1) * delta // (delta + SKEW)


def _digit(c: str) -> int:
    if "a" <= c <= "z":
        return ord(c) - ord("a")
    if "0" <= c <= "9":
        return ord(c) - ord("0") + 26
    raise IdnaError("bad punycode digit")


def punycode_decode(s: str) -> str:
    """RFC 3492 section 6.2; 32-bit unsigned overflow and a result that is
    not a Unicode scalar value are failures. `s` is lowercase ASCII."""
    b = s.rfind("-")
    if b > 0:
        output = list(s[:b])
        pos = b + 1
    else:
        # No delimiter, or one at position 0 (which is then read as a digit
        # and fails): nothing is basic.
        output = []
        pos = 0
    n, i, bias = INITIAL_N, 0, INITIAL_BIAS
    while pos < len(s):
        oldi, w, k = i, 1, BASE
        while True:
            if pos >= len(s):
                raise IdnaError("truncated punycode")
            digit = _digit(s[pos])
            pos += 1
            i += digit * w
            if digit * w > U32 or i > U32:
                raise IdnaError("punycode overflow")
            t = TMIN if k <= bias else TMAX if k >= bias + TMAX else k - bias
            if digit < t:
                break
            w *= BASE - t
            if w > U32:
                raise IdnaError("punycode overflow")
            k += BASE
        bias = _adapt(i - oldi, len(output) + 1, oldi == 0)
        n += i // (len(output) + 1)
        if n > U32:
            raise IdnaError("punycode overflow")
        i %= len(output) + 1
        if n > 0x10FFFF or 0xD800 <= n <= 0xDFFF:
            raise IdnaError("punycode gives a non-scalar value")
        output.insert(i, chr(n))
        i += 1
    return "".join(output)


def punycode_encode(label: str) -> str:
    """RFC 3492 section 6.3 (Python's codec implements it)."""
    return label.encode("punycode").decode("ascii")


# --- Validity criteria -----------------------------------------------------

def _is_ldh_ascii(c: str) -> bool:
    return ("a" <= c <= "z") or ("0" <= c <= "9") or c == "-"


_LTR_OK = {"L", "EN", "ES", "CS", "ET", "ON", "BN", "NSM"}
_RTL_OK = {"R", "AL", "AN", "EN", "ES", "CS", "ET", "ON", "BN", "NSM"}


def _check_bidi_label(label: str) -> None:
    """RFC 5893 section 2, rules 1 to 6."""
    if not label:
        return
    classes = [unicodedata.bidirectional(c) for c in label]
    first = classes[0]
    if first not in ("L", "R", "AL"):
        raise IdnaError("bidi rule 1")
    body = classes
    while body and body[-1] == "NSM":
        body = body[:-1]
    last = body[-1]
    if first == "L":
        if any(bc not in _LTR_OK for bc in classes):
            raise IdnaError("bidi rule 5")
        if last not in ("L", "EN"):
            raise IdnaError("bidi rule 6")
    else:
        if any(bc not in _RTL_OK for bc in classes):
            raise IdnaError("bidi rule 2")
        if last not in ("R", "AL", "EN", "AN"):
            raise IdnaError("bidi rule 3")
        if "EN" in classes and "AN" in classes:
            raise IdnaError("bidi rule 4")


def _joining_type(c: str) -> str:
    jt = _joining_types().get(ord(c))
    return chr(jt) if jt is not None else "U"


def _check_joiners(label: str) -> None:
    """RFC 5892 appendix A.1 (ZWNJ) and A.2 (ZWJ)."""
    for i, c in enumerate(label):
        if c not in "\u200c\u200d":
            continue
        if i == 0:
            raise IdnaError("joiner at the start")
        if unicodedata.combining(label[i - 1]) == 9:  # Virama
            continue
        if c == "\u200d":
            raise IdnaError("ZWJ not after a virama")
        # (L|D) T* ZWNJ T* (R|D)
        ok_before = False
        for b in reversed(label[:i]):
            jt = _joining_type(b)
            if jt in ("L", "D"):
                ok_before = True
                break
            if jt != "T":
                break
        ok_after = False
        for a in label[i + 1:]:
            jt = _joining_type(a)
            if jt in ("R", "D"):
                ok_after = True
                break
            if jt != "T":
                break
        if not (ok_before and ok_after):
            raise IdnaError("ZWNJ context")


def _check_label(label: str) -> None:
    """Validity criteria of one (Unicode) label, bidi excluded."""
    if label.startswith("-") or label.endswith("-"):
        raise IdnaError("hyphen at the start or end")
    if label and unicodedata.category(label[0]).startswith("M"):
        raise IdnaError("label starts with a mark")
    for c in label:
        if c == ".":
            raise IdnaError("dot in a label")
        if c.isascii():
            if not _is_ldh_ascii(c):
                raise IdnaError("STD3: ASCII other than letters, digits, hyphen")
        elif _status(ord(c))[0] not in ("V", "D"):
            raise IdnaError("code point not valid")
    _check_joiners(label)


def _bidi_domain(labels) -> bool:
    return any(
        unicodedata.bidirectional(c) in ("R", "AL", "AN") for label in labels for c in label
    )


def to_ascii(domain: str) -> str:
    """UTS #46 ToASCII with the protocol's options; raises IdnaError."""
    # Step 1: map. Step 2: NFC.
    mapped = []
    for c in domain:
        status, mapping = _status(ord(c))
        if status in ("V", "D"):
            mapped.append(c)
        elif status == "M":
            mapped.append(mapping)
        elif status == "I":
            continue
        else:
            raise IdnaError("disallowed code point")
    text = unicodedata.normalize("NFC", "".join(mapped))
    # STD3: after mapping, ASCII is only letters, digits, hyphen and dot.
    for c in text:
        if c.isascii() and not (_is_ldh_ascii(c) or c == "."):
            raise IdnaError("STD3: ASCII other than letters, digits, hyphen")
    # Step 3: break into labels. Step 4: convert and validate.
    labels = []  # (unicode label, ascii form)
    for label in text.split("."):
        if label.startswith("xn--"):
            if not label.isascii():
                raise IdnaError("non-ASCII in an xn-- label")
            if label.endswith("-"):
                raise IdnaError("xn-- label ending in a hyphen")
            decoded = punycode_decode(label[4:])
            if unicodedata.normalize("NFC", decoded) != decoded:
                raise IdnaError("decoded label not in NFC")
            _check_label(decoded)
            labels.append((decoded, label))
        else:
            _check_label(label)
            labels.append((label, label if label.isascii() else "xn--" + punycode_encode(label)))
    if _bidi_domain([u for u, _ in labels]):
        for u, _ in labels:
            _check_bidi_label(u)
    out = ".".join(a for _, a in labels)
    # VerifyDnsLength, with no trailing root dot allowed.
    if len(out) > 253 or any(not (1 <= len(a) <= 63) for _, a in labels):
        raise IdnaError("DNS length")
    return out
