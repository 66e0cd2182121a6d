"""What every platform's scrubber shares: the marker, URL credentials, volatile lines."""

from __future__ import annotations

import re
from collections.abc import Iterable

REMOVED = "<removed>"

# scheme://user:password@host -> scheme://user:<removed>@host
_URL_CREDENTIALS = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s:/@\"']+:)([^\s@\"']+)(@)", re.IGNORECASE)


def url_credentials(text: str) -> str:
    return _URL_CREDENTIALS.sub(rf"\1{REMOVED}\3", text)


def apply(text: str, rules: Iterable[tuple[re.Pattern[str], str]]) -> str:
    for pattern, replacement in rules:
        text = pattern.sub(replacement, text)
    return url_credentials(text)


def finish(text: str) -> str:
    """Normalised line ends and one final newline, so equal configurations hash equal."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n" if lines else ""
