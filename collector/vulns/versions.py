"""Version comparison that works across the products NVD names: dotted numbers (6.22, 124.0.6367.201),
Adobe's zero-padded parts (20.001.30018), Debian suffixes (115.3.0esr), Cisco (15.2(4)M7), Junos
(19.4R3-S1) and Huawei (V200R010C10SPC600).

A version becomes a tuple of tokens: numbers compare as numbers, words as words, and a missing part
counts as 0, so ``6.23 == 6.23.0``. Pre-release words (alpha, beta, rc, ...) sort below the release
they precede (``1.0rc1 < 1.0``); other words sort above a bare number end (``115.3.0esr > 115.3.0``).
"""

from __future__ import annotations

import re
from functools import lru_cache

_TOKENS = re.compile(r"\d+|[a-z]+")
PRE_RELEASE = frozenset({"alpha", "a", "beta", "b", "rc", "pre", "preview", "dev", "snapshot"})

# (rank, value): rank 0 pre-release word, 1 other word, 2 number.
Token = tuple[int, int | str]
_PAD: Token = (2, 0)


@lru_cache(maxsize=65536)
def version_key(version: str) -> tuple[Token, ...]:
    """The comparable form of ``version`` (trailing zero parts dropped, so equal versions are equal)."""
    out: list[Token] = []
    for tok in _TOKENS.findall(version.lower()):
        if tok.isdigit():
            out.append((2, int(tok)))
        else:
            out.append((0 if tok in PRE_RELEASE else 1, tok))
    while out and out[-1] == _PAD:
        out.pop()
    return tuple(out)


def compare(a: str, b: str) -> int:
    """-1, 0 or 1 as ``a`` is older than, the same as, or newer than ``b``."""
    ka, kb = version_key(a), version_key(b)
    return cmp_keys(ka, kb)


def cmp_keys(ka: tuple[Token, ...], kb: tuple[Token, ...]) -> int:
    n = max(len(ka), len(kb))
    for i in range(n):
        if i >= len(ka) or i >= len(kb):
            # One version ended: it is as if it went on with 0 (6.23 == 6.23.0), it is newer than a
            # pre-release of it (1.0 > 1.0rc1) and older than a suffixed build of it (115.3 < 115.3esr).
            rest = kb[i] if i >= len(ka) else ka[i]
            sign = 1 if i >= len(ka) else -1  # +1: a ended, so a < b when rest ranks above the end
            if rest[0] == 2:
                if rest[1] == 0:
                    continue
                return -sign
            return sign if rest[0] == 0 else -sign
        x, y = ka[i], kb[i]
        if x != y:
            # Ranks first; within a rank the values are of one type.
            return -1 if (x[0], x[1]) < (y[0], y[1]) else 1
    return 0


def is_version(text: str) -> bool:
    """Has at least one digit: something a version comparison can use."""
    return any(c.isdigit() for c in text)


def debian_upstream(version: str) -> str:
    """``1:115.3.0esr-1~deb12u1`` -> ``115.3.0esr``: no epoch, no Debian revision."""
    v = version.split(":", 1)[1] if re.match(r"^\d+:", version) else version
    if "-" in v:
        v = v.rsplit("-", 1)[0]
    return v.split("+dfsg")[0].split("~")[0]
