"""Section 3.6 of PROTOCOL.md: from a CSV export to the accounts one side
uploads. Written from the spec; uses only the standard library and the
normalizers of this directory."""

import csv
import io

import normalize

MAX_DOMAINS = 8
MAX_KEYS = 10
SHARED_MAILBOX_NAMES = 3
MAX_CITY_NAMESAKES = 3
# Step 4: per key type, in upload order, the most values an account keeps.
TYPE_LIMITS = (
    ("domain", MAX_DOMAINS),
    ("name", 1),
    ("duns", 1),
    ("city-name", 1),
    ("postcode-name", 1),
    ("phone-name", 1),
)
SEPARATORS = frozenset(";,|")


def _pieces(cell: str):
    """Split at ; , | and Unicode White_Space (normalize.WHITE_SPACE)."""
    piece = ""
    for c in cell:
        if c in SEPARATORS or c in normalize.WHITE_SPACE:
            yield piece
            piece = ""
        else:
            piece += c
    yield piece


def key_type(key: str) -> str:
    """The type of a key message: the part before its first ':'."""
    return key.split(":", 1)[0]


def row_keys(row: dict, columns: dict, names_without_country: str):
    """Step 2: the keys of one row, in order (domains, name, city-qualified
    name, postcode-qualified name, phone-qualified name, DUNS), and its name
    tokens (None without a valid name), which step 3 counts whether or not
    the name key is uploaded."""
    domains = []
    for col in [columns["domain"]] + list(columns["extra_domains"]):
        for piece in _pieces(row.get(col) or ""):
            try:
                k = normalize.domain_key(piece)
            except normalize.Reject:
                continue
            if k not in domains and len(domains) < MAX_DOMAINS:
                domains.append(k)
    keys = list(domains)
    raw_name = row.get(columns["name"]) or ""
    try:
        tokens = normalize.name_tokens(raw_name)
    except normalize.Reject:
        tokens = None
    if tokens is not None:
        try:
            country = normalize.country(row.get(columns["country"]) or "")
        except normalize.Reject:
            country = None
        if country is not None:
            keys.append("name:" + country + ":" + tokens)
            # A city-qualified name needs a valid name, a usable country and
            # a usable city; without the city column there is none.
            if columns.get("city"):
                try:
                    city = normalize.city(row.get(columns["city"]) or "")
                    keys.append("city-name:" + country + ":" + city + ":" + tokens)
                except normalize.Reject:
                    pass
            # Likewise a postcode-qualified name needs a usable postal code.
            if columns.get("postcode"):
                try:
                    code = normalize.postcode(row.get(columns["postcode"]) or "", country)
                    keys.append("postcode-name:" + country + ":" + code + ":" + tokens)
                except normalize.Reject:
                    pass
        elif names_without_country == "unqualified":
            keys.append("name::" + tokens)
        # A phone-qualified name needs a valid name and a usable number; the
        # country only places a national number (3.8 step 7), so a row
        # without one still has the key when its number is international,
        # whatever names_without_country says.
        if columns.get("phone"):
            try:
                number = normalize.phone(row.get(columns["phone"]) or "", country)
                keys.append("phone-name:" + number + ":" + tokens)
            except normalize.Reject:
                pass
    try:
        keys.append(normalize.duns_key(row.get(columns["duns"]) or ""))
    except normalize.Reject:
        pass
    return keys, tokens


def drop_shared_mailboxes(rows):
    """Step 3, first paragraph: a domain key that rows of 3 or more distinct
    first words of name-token strings carry is removed from every row; rows left without a
    key are dropped. `rows` is a list of (line, keys, tokens)."""
    names = {}
    for _, keys, tokens in rows:
        if tokens is None:
            continue
        for k in keys:
            if k.startswith("domain:"):
                names.setdefault(k, set()).add(tokens.split(" ")[0])
    shared = {k for k, n in names.items() if len(n) >= SHARED_MAILBOX_NAMES}
    out = []
    for line, keys, _ in rows:
        keys = [k for k in keys if k not in shared]
        if keys:
            out.append((line, keys))
    return out


def accounts(text: str, columns: dict, names_without_country: str):
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = []  # (line, keys, tokens); the header is line 1
    for i, row in enumerate(reader):
        keys, tokens = row_keys(row, columns, names_without_country)
        if keys:
            rows.append((i + 2, keys, tokens))
    rows = drop_shared_mailboxes(rows)

    # Step 3, then: union-find over the domains, the DUNS and the
    # phone-qualified names (never over a name or a city- or
    # postcode-qualified name).
    parent = list(range(len(rows)))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    first = {}
    for i, (_, keys) in enumerate(rows):
        for k in keys:
            if key_type(k) not in ("domain", "duns", "phone-name"):
                continue
            if k in first:
                a, b = find(i), find(first[k])
                parent[max(a, b)] = min(a, b)
            else:
                first[k] = i
    groups = {}
    for i in range(len(rows)):
        groups.setdefault(find(i), []).append(i)

    # Step 4: per type, most rows first, ties to the value seen first; then
    # at most 10 keys in all, the last (least common) domains going first.
    result = []
    for root in sorted(groups):
        members = groups[root]
        keys = []
        for kind, limit in TYPE_LIMITS:
            counts = {}
            for m in members:
                for k in dict.fromkeys(rows[m][1]):
                    if key_type(k) == kind:
                        counts[k] = counts.get(k, 0) + 1
            ranked = sorted(counts, key=lambda k: -counts[k])  # stable: first seen wins ties
            keys.extend(ranked[:limit])
        while len(keys) > MAX_KEYS:
            last_domain = max(i for i, k in enumerate(keys) if key_type(k) == "domain")
            del keys[last_domain]
        result.append({"lines": sorted(rows[m][0] for m in members), "keys": keys})

    # Step 5, first: an account whose name key more than 3 accounts carry
    # loses its city-qualified name (not its postcode-qualified name).
    namesakes = {}
    for a in result:
        for k in a["keys"]:
            if key_type(k) == "name":
                namesakes[k] = namesakes.get(k, 0) + 1
    for a in result:
        if any(namesakes.get(k, 0) > MAX_CITY_NAMESAKES for k in a["keys"]):
            a["keys"] = [k for k in a["keys"] if key_type(k) != "city-name"]

    # Step 5, then: a key on two or more accounts is removed from all of them.
    carried = {}
    for a in result:
        for k in a["keys"]:
            carried[k] = carried.get(k, 0) + 1
    out = []
    for a in result:
        a["keys"] = [k for k in a["keys"] if carried[k] == 1]
        if a["keys"]:
            out.append(a)
    # Step 6: by first line.
    out.sort(key=lambda a: a["lines"][0])
    return out
