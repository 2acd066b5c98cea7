"""The Public Suffix List lookup of PROTOCOL.md section 3.1, step 8.

Reads protocol-spec/data/public_suffix_list.dat and follows the protocol
text: rules form a tree of labels read from the right; a lookup walks it
label by label, preferring the label itself to a `*` child, and the last
rule passed on the way decides the public suffix.
"""

import pathlib

from uts46 import punycode_encode

SNAPSHOT_PATH = pathlib.Path(__file__).resolve().parent.parent / "data" / "public_suffix_list.dat"

ICANN, PRIVATE = "icann", "private"


class Node:
    __slots__ = ("children", "rule")

    def __init__(self):
        self.children = {}
        # None, or (is_exception, section) when a rule ends at this node.
        self.rule = None


def ascii_rule(rule: str) -> str:
    """A rule with its non-ASCII labels in `xn--` Punycode form."""
    return ".".join(
        label if label.isascii() else "xn--" + punycode_encode(label) for label in rule.split(".")
    )


def load(path: pathlib.Path = SNAPSHOT_PATH) -> Node:
    root = Node()
    section = None
    for line in path.read_text(encoding="utf-8").split("\n"):
        if "BEGIN ICANN DOMAINS" in line:
            section = ICANN
            continue
        if "BEGIN PRIVATE DOMAINS" in line:
            section = PRIVATE
            continue
        if line.startswith("//") or section is None:
            continue
        words = line.split()
        if not words:
            continue
        rule = ascii_rule(words[0])
        exception = rule.startswith("!")
        if exception:
            rule = rule[1:]
        node = root
        for label in reversed(rule.split(".")):
            node = node.children.setdefault(label, Node())
        # A rule listed twice keeps the section of its last occurrence.
        node.rule = (exception, section)
    return root


_ROOT = None


def _root() -> Node:
    global _ROOT
    if _ROOT is None:
        _ROOT = load()
    return _ROOT


def public_suffix(host: str):
    """(number of labels of the public suffix, section or None).

    section None means no rule decided: the implicit `*` rule, whose suffix
    is the last label."""
    labels = host.split(".")[::-1]
    node = _root().children.get(labels[0])
    if node is None:
        return 1, None
    count, section = 1, (node.rule[1] if node.rule else None)
    for depth, label in enumerate(labels[1:], start=2):
        nxt = node.children.get(label)
        if nxt is None:
            nxt = node.children.get("*")
        if nxt is None:
            break
        node = nxt
        if node.rule is not None:
            exception, section = node.rule
            if exception:
                count = depth - 1
                break
            count = depth
    return count, section


class NoRegistrable(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def registrable(host: str):
    """(registrable domain, its public suffix, section) of a lowercase ASCII
    host, or raises NoRegistrable('public-suffix' | 'single-label' |
    'unknown-suffix')."""
    labels = host.split(".")
    count, section = public_suffix(host)
    if count >= len(labels):
        raise NoRegistrable("public-suffix" if section is not None else "single-label")
    if section is None:
        raise NoRegistrable("unknown-suffix")
    suffix = ".".join(labels[len(labels) - count:])
    return ".".join(labels[len(labels) - count - 1:]), suffix, section
