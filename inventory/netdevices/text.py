"""Shared text helpers: ANSI stripping, TextFSM (ntc-templates) parsing, uptimes, versions."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>]")
# VRP erases its "---- More ----" with a run of spaces wrapped in cursor-left codes.
_VRP_MORE = re.compile(r"[ ]*-{2,4} More -{2,4}(?:\x1b\[\d+D[ ]*)*")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean(text: str) -> str:
    """Output as a human reads it: no ANSI codes, pager leftovers, CRs or control characters."""
    text = _VRP_MORE.sub("", text)
    text = re.sub(r" \x1b\[\d+D", "", text)  # Huawei: a space then cursor-left
    text = _ANSI.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "")
    return _CONTROL.sub("", text)


def textfsm(platform: str, command: str, text: str) -> list[dict[str, Any]]:
    """Records of the ntc-templates template for ``command`` (field names lower case, as ntc's).

    Raises ``LookupError`` when no template exists and ``ValueError`` when the text does not parse.
    """
    from ntc_templates.parse import parse_output

    try:
        parsed: list[dict[str, Any]] = parse_output(platform=platform, command=command, data=text)
        return parsed
    except Exception as exc:  # textfsm raises its own tree; callers want one of two answers
        msg = str(exc)
        if "No template found" in msg or "no template" in msg.lower():
            raise LookupError(f"no ntc-templates template for {platform} {command!r}") from exc
        raise ValueError(f"{platform} {command!r}: output does not parse: {msg[:200]}") from exc


def records(
    platform: str, command: str, outputs: Mapping[str, str], warnings: list[str]
) -> list[dict[str, Any]]:
    """Records of ``command``'s output in ``outputs``; a problem becomes a warning, not an error."""
    text = outputs.get(command)
    if not text:
        return []
    try:
        found = textfsm(platform, command, text)
    except (LookupError, ValueError) as exc:
        warnings.append(str(exc))
        return []
    if not found:
        warnings.append(f"{command!r}: nothing recognised in the output")
    return found


_UNITS = {"y": 365 * 86400, "w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
_UNIT_RE = re.compile(r"(\d+)\s*(years?|weeks?|days?|hours?|minutes?|mins?|seconds?|secs?|[ywdhms])(?![a-z])")


def uptime_seconds(text: str | None) -> int | None:
    """Seconds from "2 years, 3 weeks, 1 day, 4 hours, 5 minutes", "1w2d03:04:05", "58m18s", "2d 3:04"."""
    if not text:
        return None
    total = 0
    found = False
    rest = text.lower()
    clock = re.search(r"(\d+):(\d{2})(?::(\d{2}))?", rest)
    if clock:
        total += int(clock.group(1)) * 3600 + int(clock.group(2)) * 60 + int(clock.group(3) or 0)
        rest = rest[: clock.start()] + " " + rest[clock.end() :]
        found = True
    for num, unit in _UNIT_RE.findall(rest):
        total += int(num) * _UNITS[unit[0]]
        found = True
    return total if found else None


def version_key(version: str) -> tuple[int, ...]:
    """Integers of a version, in order: "15.5(3)S4" -> (15, 5, 3, 4); "V200R010C00SPC600" ->
    (200, 10, 0, 600); "22.4R3-S2.11" -> (22, 4, 3, 2, 11). Good enough to compare within a train."""
    return tuple(int(n) for n in re.findall(r"\d+", version))


def first(records: list[dict[str, Any]], field: str) -> Any:
    for rec in records:
        value = rec.get(field)
        if isinstance(value, list):
            value = value[0] if value else None
        if value not in (None, ""):
            return value
    return None
