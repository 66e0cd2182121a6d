"""Unexpected shutdowns on Linux: boots that did not follow a clean shutdown.

Two sources, cheapest first:
- wtmp (``last -x`` reads the same file): a boot record (``reboot``) with no ``shutdown`` run-level
  record since the previous boot means the machine lost power, hung or crashed.
- the systemd journal, when wtmp holds too little: a boot whose journal does not end with journald's
  "Journal stopped" entry (written only when journald stops cleanly) ended abruptly.
"""

from __future__ import annotations

import json
import os
import struct
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from inventory.health import HealthFacts
from inventory.host.commands import CommandError, run, which

# glibc struct utmp on Linux (x86, x86_64, arm, arm64 alike): 384 bytes.
_UTMP = struct.Struct("<h2xi32s4s32s256shhiii16s20s")
_RUN_LVL, _BOOT_TIME = 1, 2
_MAX_WTMP_BYTES = 8 * 1024 * 1024  # a few years of logins; older records are not needed
_JOURNAL_STOP = "d93fb3c9c24d451a97cea615ce59c00b"  # SD_MESSAGE_JOURNAL_STOP
_KEEP_TIMES = 20
# A clean stop is the last thing journald writes; allow for entries of the final seconds.
_STOP_SLACK_USEC = 120 * 1_000_000


def _ts(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _facts(boots: int, since: datetime | None, incidents: list[datetime], source: str) -> HealthFacts:
    recent = sorted(incidents, reverse=True)
    return HealthFacts(
        # No boot on record at all: nothing is known, which is not the same as "none happened".
        unexpected_shutdowns=len(incidents) if boots else None,
        boots_recorded=boots,
        evidence_since=since,
        last_unexpected_shutdown=recent[0] if recent else None,
        unexpected_shutdown_times=recent[:_KEEP_TIMES],
        source=source,
    )


def parse_wtmp(data: bytes) -> HealthFacts:
    """Count boots not preceded by a shutdown record, from raw wtmp bytes (oldest first)."""
    usable = len(data) - len(data) % _UTMP.size
    boots = 0
    clean = True
    last_seen: float | None = None
    since: float | None = None
    incidents: list[datetime] = []
    for rec in _UTMP.iter_unpack(data[:usable]):
        ut_type, user, tv_sec = rec[0], rec[4].split(b"\0", 1)[0], rec[9]
        if tv_sec <= 0:
            continue
        since = tv_sec if since is None else since
        if ut_type == _BOOT_TIME:
            if boots and not clean:
                # The last thing recorded before the boot is as close as wtmp gets to the moment.
                incidents.append(_ts(last_seen or tv_sec))
            boots += 1
            clean = False
        elif ut_type == _RUN_LVL and user == b"shutdown":
            clean = True
        last_seen = tv_sec
    return _facts(boots, _ts(since) if since else None, incidents, "wtmp")


def read_wtmp(root: str | Path = "/") -> HealthFacts | None:
    """wtmp facts, reading the rotated file first so the window is as long as the system kept."""
    chunks: list[bytes] = []
    for name in ("var/log/wtmp.1", "var/log/wtmp"):
        path = Path(root, name)
        try:
            size = path.stat().st_size
            with open(path, "rb") as fh:
                if size > _MAX_WTMP_BYTES:
                    fh.seek(size - _MAX_WTMP_BYTES + (size % _UTMP.size))
                chunks.append(fh.read(_MAX_WTMP_BYTES))
        except OSError:
            continue
    if not chunks:
        return None
    return parse_wtmp(b"".join(c[: len(c) - len(c) % _UTMP.size] for c in chunks))


def _json_lines(text: str) -> list[dict[str, Any]]:
    text = text.strip()
    if text.startswith("["):
        entries: list[dict[str, Any]] = json.loads(text)
        return entries
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def parse_journal(list_boots: str, stops: str) -> HealthFacts:
    """From ``journalctl --list-boots -o json`` and the JSON of every "Journal stopped" entry."""
    boots = sorted(_json_lines(list_boots), key=lambda b: int(b.get("first_entry", 0)))
    stop_times: dict[str, list[int]] = {}
    for entry in _json_lines(stops):
        stopped_boot = str(entry.get("_BOOT_ID", "")).replace("-", "")
        stop_times.setdefault(stopped_boot, []).append(int(entry.get("__REALTIME_TIMESTAMP", 0)))
    incidents: list[datetime] = []
    for boot in boots[:-1]:  # the last boot is the one running now
        boot_id = str(boot.get("boot_id", "")).replace("-", "")
        last = int(boot.get("last_entry", 0))
        if not any(t >= last - _STOP_SLACK_USEC for t in stop_times.get(boot_id, [])):
            incidents.append(_ts(last / 1e6))
    since = _ts(int(boots[0]["first_entry"]) / 1e6) if boots and boots[0].get("first_entry") else None
    return _facts(len(boots), since, incidents, "journal")


def read_journal() -> HealthFacts | None:
    if which("journalctl") is None:
        return None
    try:
        boots = run(["journalctl", "--list-boots", "-o", "json", "--no-pager"], timeout=20).stdout
        if len(_json_lines(boots)) < 2:
            return None
        stops = run(
            [
                "journalctl",
                "-o",
                "json",
                "--no-pager",
                "--output-fields=_BOOT_ID",
                f"MESSAGE_ID={_JOURNAL_STOP}",
            ],
            timeout=30,
        ).stdout
    except (CommandError, ValueError):
        return None
    return parse_journal(boots, stops)


def unexpected_shutdowns(root: str | Path = "/") -> HealthFacts:
    """The best evidence available: wtmp when it covers earlier boots, else the persistent journal."""
    facts = read_wtmp(root)
    if facts is not None and (facts.boots_recorded or 0) >= 2:
        return facts
    journal = read_journal() if os.path.abspath(str(root)) == "/" else None
    if journal is not None:
        return journal
    return facts or HealthFacts(source=None)
