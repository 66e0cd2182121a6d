"""Unexpected shutdowns from wtmp records (what `last -x` reads) and from the journal's JSON."""

from __future__ import annotations

import json
import struct
from datetime import UTC, datetime

from inventory.host.shutdowns import parse_journal, read_wtmp

# glibc's struct utmp: type, pid, line, id, user, host, exit, session, tv, addr_v6, unused (384 bytes).
UTMP = struct.Struct("<h2xi32s4s32s256shhiii16s20s")
RUN_LVL, BOOT_TIME, USER_PROCESS = 1, 2, 7


def rec(kind: int, user: bytes, when: int, line: bytes = b"~") -> bytes:
    return UTMP.pack(kind, 1, line, b"~~", user, b"6.1.0-18-amd64", 0, 0, 0, when, 0, b"", b"")


def test_wtmp_counts_boots_without_a_shutdown_record(tmp_path) -> None:
    assert UTMP.size == 384
    t = 1_760_000_000
    records = [
        rec(BOOT_TIME, b"reboot", t),
        rec(USER_PROCESS, b"canbo", t + 60, b"tty7"),
        rec(RUN_LVL, b"shutdown", t + 3600),  # clean
        rec(BOOT_TIME, b"reboot", t + 86400),
        rec(USER_PROCESS, b"canbo", t + 86460, b"tty7"),  # power cut after this login
        rec(BOOT_TIME, b"reboot", t + 2 * 86400),
        rec(RUN_LVL, b"shutdown", t + 2 * 86400 + 100),
        rec(BOOT_TIME, b"reboot", t + 3 * 86400),  # running now
    ]
    (tmp_path / "var/log").mkdir(parents=True)
    (tmp_path / "var/log/wtmp").write_bytes(b"".join(records))
    facts = read_wtmp(tmp_path)
    assert facts is not None
    assert (facts.unexpected_shutdowns, facts.boots_recorded, facts.source) == (1, 4, "wtmp")
    assert facts.last_unexpected_shutdown == datetime.fromtimestamp(t + 86460, UTC)
    assert facts.evidence_since == datetime.fromtimestamp(t, UTC)


def test_wtmp_missing_gives_nothing(tmp_path) -> None:
    assert read_wtmp(tmp_path) is None


def test_journal_boot_without_a_final_journal_stop_is_unexpected() -> None:
    s = 1_000_000
    boots = [
        {"index": -3, "boot_id": "aa" * 16, "first_entry": 100 * s, "last_entry": 200 * s},
        {"index": -2, "boot_id": "bb" * 16, "first_entry": 300 * s, "last_entry": 400 * s},
        {"index": -1, "boot_id": "cc" * 16, "first_entry": 500 * s, "last_entry": 900 * s},
        {"index": 0, "boot_id": "dd" * 16, "first_entry": 1000 * s, "last_entry": 1100 * s},
    ]
    stops = [
        {"__REALTIME_TIMESTAMP": str(200 * s - 5), "_BOOT_ID": "aa" * 16},  # clean shutdown
        {"__REALTIME_TIMESTAMP": str(600 * s), "_BOOT_ID": "cc" * 16},  # journald restarted mid-boot only
    ]
    facts = parse_journal(json.dumps(boots), "\n".join(json.dumps(x) for x in stops))
    assert (facts.unexpected_shutdowns, facts.boots_recorded, facts.source) == (2, 4, "journal")
    assert facts.last_unexpected_shutdown == datetime.fromtimestamp(900, UTC)
    assert facts.evidence_since == datetime.fromtimestamp(100, UTC)


def test_empty_wtmp_knows_nothing(tmp_path) -> None:
    (tmp_path / "var/log").mkdir(parents=True)
    (tmp_path / "var/log/wtmp").write_bytes(b"")
    facts = read_wtmp(tmp_path)
    assert facts is not None and facts.boots_recorded == 0
    assert facts.unexpected_shutdowns is None  # unknown, not zero
