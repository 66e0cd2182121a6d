"""CPE 2.3 formatted strings: ``cpe:2.3:part:vendor:product:version:update:edition:language:
sw_edition:target_sw:target_hw:other``. ``*`` is ANY, ``-`` is NA; ``\\`` escapes a character."""

from __future__ import annotations

import re
from typing import NamedTuple

ANY = "*"
NA = "-"
_SPLIT = re.compile(r"(?<!\\):")
_UNESCAPE = re.compile(r"\\(.)")


class Cpe(NamedTuple):
    part: str
    vendor: str
    product: str
    version: str = ANY
    update: str = ANY
    edition: str = ANY
    language: str = ANY
    sw_edition: str = ANY
    target_sw: str = ANY
    target_hw: str = ANY
    other: str = ANY

    @property
    def key(self) -> str:
        """``vendor:product``: how matches are indexed and findings are named."""
        return f"{self.vendor}:{self.product}"

    def uri(self) -> str:
        return "cpe:2.3:" + ":".join(_escape(v) for v in self)


def _escape(value: str) -> str:
    if value in (ANY, NA):
        return value
    return re.sub(r"([^A-Za-z0-9._\-~])", r"\\\1", value)


class CpeError(ValueError):
    pass


def parse(text: str) -> Cpe:
    """Parse a CPE 2.3 formatted string (values unescaped and lowercased)."""
    fields = _SPLIT.split(text.strip())
    if len(fields) != 13 or fields[0] != "cpe" or fields[1] != "2.3":
        raise CpeError(f"not a CPE 2.3 name: {text[:200]!r}")
    values = [_UNESCAPE.sub(r"\1", f).lower() for f in fields[2:]]
    if values[0] not in ("a", "o", "h"):
        raise CpeError(f"unknown CPE part {values[0]!r} in {text[:200]!r}")
    return Cpe(*values)
