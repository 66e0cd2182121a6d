"""Software versions compared the way people mean them, in Python and in SQL.

``version_key`` turns a version string into a text whose plain (byte) order is the version order, so
``WHERE version_key < :key`` answers "older than 6.23" on SQLite and PostgreSQL alike, with an index:
- numbers compare as numbers (6.9 < 6.10 < 6.23), whatever their width;
- trailing zero parts do not count (6.23 == 6.23.0 == 6.23.0.0);
- a pre-release word sorts before the release (6.23b1 < 6.23beta2 < 6.23rc1 < 6.23 < 6.23.1); any
  other word sorts after it (OpenSSL 1.1.1w > 1.1.1, Debian 2.3-4ubuntu1 > 2.3-4) and before a
  further number;
- an epoch (Debian ``1:2.3``) is dropped: people type what the program shows, which has none.

The key holds only digits and lower-case letters (markers are digits), so most collations sort it in
byte order; queries on PostgreSQL still compare with ``COLLATE "C"`` to be sure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Markers: a pre-release word < end of version < another word < a number part.
_PRE, _END, _WORD, _NUM = "1", "2", "3", "4"
PRE_RELEASE = frozenset({"a", "b", "alpha", "beta", "rc", "pre", "preview", "dev", "c"})
_TOKEN = re.compile(r"\d+|[a-z]+")
_EPOCH = re.compile(r"^\d+:")
KEY_LENGTH = 200  # the column's size; longer keys are cut (only absurd versions are that long)


def _tokens(version: str) -> list[str]:
    text = _EPOCH.sub("", version.strip().lower())
    tokens = _TOKEN.findall(text)
    while tokens and tokens[-1].isdigit() and int(tokens[-1]) == 0:
        tokens.pop()  # 6.23.0 is 6.23
    return tokens


def version_key(version: str | None) -> str | None:
    """The sortable key of ``version``; None when it holds no digit or letter at all."""
    if version is None:
        return None
    tokens = _tokens(version)
    if not tokens and not re.search(r"[0-9a-zA-Z]", version):
        return None
    parts: list[str] = []
    for token in tokens:
        if token.isdigit():
            digits = token.lstrip("0") or "0"
            # Length first (two digits), then the digits: 9 < 10 without padding to a fixed width.
            parts.append(f"{_NUM}{len(digits):02d}{digits}")
        else:
            # "0" ends a word below any letter: "b" < "beta".
            marker = _PRE if token in PRE_RELEASE else _WORD
            parts.append(f"{marker}{token}0")
    return ("".join(parts) + _END)[:KEY_LENGTH]


def compare(a: str, b: str) -> int:
    """-1, 0 or 1 as version ``a`` is older than, the same as, or newer than ``b``."""
    ka, kb = version_key(a) or "", version_key(b) or ""
    return (ka > kb) - (ka < kb)


OPERATORS = ("<=", ">=", "==", "!=", "<", ">", "=")
_QUERY = re.compile(r"^(?P<name>.*?[^<>=!\s])\s*(?P<op><=|>=|==|!=|<|>|=)\s*(?P<version>\d[\w.\-+~:]*)$")


@dataclass(frozen=True)
class VersionQuery:
    """``winrar<6.23``: programs whose name contains ``name`` and whose version compares so."""

    name: str
    op: str  # <, <=, >, >=, ==, !=
    version: str

    @property
    def key(self) -> str:
        return version_key(self.version) or ""

    def matches(self, version: str | None) -> bool:
        key = version_key(version)
        if key is None:
            return False
        return {
            "<": key < self.key,
            "<=": key <= self.key,
            ">": key > self.key,
            ">=": key >= self.key,
            "==": key == self.key,
            "!=": key != self.key,
        }[self.op]


def parse_version_query(text: str) -> VersionQuery | None:
    """``name OP version`` (OP one of < <= > >= = == !=, version starting with a digit), else None."""
    m = _QUERY.match(text.strip())
    if not m:
        return None
    op = "==" if m.group("op") == "=" else m.group("op")
    return VersionQuery(name=m.group("name").strip(), op=op, version=m.group("version"))
