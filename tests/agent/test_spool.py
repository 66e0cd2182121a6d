"""The durable outbox on real files: order, bounds and eviction order, corruption, a full disk, kills."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from agent.spool import Spool, SpoolFull
from tests.agent.support import fill_disk, small_report


def _put(
    spool: Spool, *, kind: str = "heartbeat", failing: int = 0, subject: str = "host", pad: int = 0
) -> str:
    rid = str(uuid.uuid4())
    body = json.dumps({"report_id": rid, "pad": random.randbytes(pad).hex()}).encode()
    spool.enqueue(body, report_id=rid, agent_id="a", subject=subject, kind=kind, failing=failing)
    return rid


def test_fifo_ack_and_idempotent_enqueue(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.db")
    ids = [_put(spool) for _ in range(5)]
    rid, body = small_report()
    spool.enqueue(body, report_id=rid, agent_id="a")
    spool.enqueue(body, report_id=rid, agent_id="a")  # the same report twice is stored once
    items = spool.peek(10)
    assert [i.report_id for i in items] == [*ids, rid]
    spool.ack(items[0].seq)
    assert spool.stats().count == 5
    assert spool.peek(1)[0].report_id == ids[1]
    assert stat.S_IMODE((tmp_path / "spool.db").stat().st_mode) == 0o600


def test_eviction_order_heartbeats_then_passing_then_failing_never_the_newest_full(
    tmp_path: Path,
) -> None:
    spool = Spool(tmp_path / "spool.db", max_bytes=10**9)
    full_old = _put(spool, kind="full", pad=3000)
    full_new = _put(spool, kind="full", failing=2, pad=3000)
    failing = [_put(spool, kind="delta", failing=1, pad=3000) for _ in range(3)]
    assert len(failing) == 3
    passing = [_put(spool, kind="delta", pad=3000) for _ in range(3)]
    beats = [_put(spool, pad=3000) for _ in range(3)]
    device_full = _put(spool, kind="full", subject="device:sw1", pad=3000)
    per_item = spool.stats().bytes // spool.stats().count

    def left() -> set[str]:
        return {i.report_id for i in spool.peek(100)}

    # Room for all but three: the three heartbeats go first.
    spool.max_bytes = spool.stats().bytes - 2 * per_item
    _put(spool, kind="delta", failing=1, pad=10)  # any enqueue applies the bounds
    assert not left() & set(beats)
    assert set(passing) <= left()
    # Then passing reports (the old full report counts as one), oldest first.
    spool.max_bytes = spool.stats().bytes - 3 * per_item
    _put(spool, kind="delta", failing=1, pad=10)
    assert full_old not in left() and not left() & set(passing[:2])
    # Then failing reports; the newest full of each subject stays through everything.
    spool.max_bytes = 1
    _put(spool, kind="delta", failing=1, pad=10)
    assert left() == {full_new, device_full}


def test_age_bound_keeps_the_newest_full(tmp_path: Path) -> None:
    now = [1_000_000.0]
    spool = Spool(tmp_path / "spool.db", max_age_seconds=3600, clock=lambda: now[0])
    full = _put(spool, kind="full")
    old = [_put(spool, kind="delta", failing=1) for _ in range(3)]
    now[0] += 7200
    fresh = _put(spool)
    assert [i.report_id for i in spool.peek(10)] == [full, fresh]
    assert old


def test_corrupt_record_is_quarantined_and_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    spool = Spool(tmp_path / "spool.db")
    ids = [_put(spool) for _ in range(3)]
    db = sqlite3.connect(tmp_path / "spool.db")
    with db:
        db.execute("UPDATE outbox SET body = ? WHERE report_id = ?", (b"\x1f\x8b\x08\x00garbage", ids[1]))
    db.close()
    assert [i.report_id for i in spool.peek(10)] == [ids[0], ids[2]]
    assert spool.stats().quarantined == 1
    assert "quarantined report" in caplog.text and ids[1] in caplog.text


def test_unreadable_file_is_set_aside_salvaged_and_removed_once_its_reports_are_delivered(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "spool.db"
    spool = Spool(path)
    before = [_put(spool) for _ in range(3)]
    spool.close()
    data = bytearray(path.read_bytes())
    data[:100] = b"\xff" * 100  # the header: SQLite no longer recognises the file
    path.write_bytes(bytes(data))
    spool = Spool(path)
    assert "is corrupt" in caplog.text
    assert [i.report_id for i in spool.peek(10)] == before  # every record, in order
    rid = _put(spool)
    assert [i.report_id for i in spool.peek(10)] == [*before, rid]
    aside = list(tmp_path.glob("spool.db.corrupt-*"))
    assert len(aside) == 1
    items = spool.peek(10)
    for item in items[:2]:
        spool.ack(item.seq)
    assert aside[0].exists()  # one salvaged report still waits: the file it came from stays
    Spool(path).close()  # another process opening the spool (the delivery worker) keeps it too
    assert aside[0].exists()
    spool.ack(items[2].seq)
    assert not aside[0].exists()  # all it held was delivered
    assert [i.report_id for i in spool.peek(10)] == [rid]


def test_a_file_nothing_can_be_salvaged_from_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    path.write_bytes(b"this is not SQLite" * 500)
    spool = Spool(path)
    assert spool.stats().count == 0
    rid = _put(spool)
    spool.ack(spool.peek(1)[0].seq)
    assert rid and len(list(tmp_path.glob("spool.db.corrupt-*"))) == 1


def _filled(path: Path, n: int, *, pad: int, rng: random.Random) -> tuple[list[str], dict[str, bytes]]:
    """A closed spool file holding ``n`` reports; their ids in order and their stored (gzip) bodies."""
    spool = Spool(path)
    ids = []
    for _ in range(n):
        rid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        body = json.dumps({"report_id": rid, "pad": rng.randbytes(pad).hex()}).encode()
        spool.enqueue(body, report_id=rid, agent_id="a", kind="delta", failing=rng.randrange(3))
        ids.append(rid)
    bodies = {i.report_id: i.body for i in spool.peek(n)}
    spool.close()
    return ids, bodies


def _intact(before: bytes, after: bytes, rid: str, body: bytes) -> bool:
    """Whether a record stored on one page came through untouched: from just before its report id
    (the cell's start) to the end of its body, the bytes are the same. Found without any SQLite
    parsing, so it checks the salvage rather than repeating it."""
    end = before.find(body) + len(body)
    start = before.rfind(rid.encode(), 0, end) - 24
    return end <= len(after) and before[start:end] == after[start:end]


@pytest.mark.parametrize("seed", range(6))
def test_4k_of_random_damage_mid_file_loses_only_the_records_it_touched(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    path = tmp_path / "spool.db"
    ids, bodies = _filled(path, 50, pad=1000, rng=rng)
    before = path.read_bytes()
    damaged = bytearray(before)
    at = rng.randrange(len(before) // 4, 3 * len(before) // 4)
    damaged[at : at + 4096] = rng.randbytes(4096)
    path.write_bytes(bytes(damaged))
    intact = {rid for rid in ids if _intact(before, bytes(damaged), rid, bodies[rid])}

    got = [i.report_id for i in Spool(path).peek(100)]
    assert len(got) >= 45, f"{len(got)} of 50 recovered, {len(intact)} intact"
    assert intact <= set(got)  # every record the damage did not touch
    assert got == [rid for rid in ids if rid in set(got)]  # in their old order


@pytest.mark.parametrize("seed", range(3))
def test_damage_amid_reports_larger_than_a_page(tmp_path: Path, seed: int) -> None:
    # 20 KB bodies span overflow pages: damage costs the one or two reports whose pages it hit.
    rng = random.Random(100 + seed)
    path = tmp_path / "spool.db"
    ids, _ = _filled(path, 50, pad=10_000, rng=rng)
    damaged = bytearray(path.read_bytes())
    at = rng.randrange(len(damaged) // 4, 3 * len(damaged) // 4)
    damaged[at : at + 4096] = rng.randbytes(4096)
    path.write_bytes(bytes(damaged))
    got = [i.report_id for i in Spool(path).peek(100)]
    assert len(got) >= 47 and got == [rid for rid in ids if rid in set(got)]


def test_half_a_file_gives_back_every_record_in_it(tmp_path: Path) -> None:
    rng = random.Random(7)
    path = tmp_path / "spool.db"
    ids, bodies = _filled(path, 50, pad=1000, rng=rng)
    before = path.read_bytes()
    half = before[: len(before) // 2]
    path.write_bytes(half)
    intact = {rid for rid in ids if _intact(before, half, rid, bodies[rid])}
    assert len(intact) >= 8
    got = [i.report_id for i in Spool(path).peek(100)]
    assert set(got) == intact


def test_a_crash_before_the_checkpoint_salvages_from_the_wal_too(tmp_path: Path) -> None:
    rng = random.Random(3)
    live = tmp_path / "live" / "spool.db"
    spool = Spool(live)

    def put() -> str:
        rid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        body = json.dumps({"report_id": rid, "pad": rng.randbytes(1000).hex()}).encode()
        spool.enqueue(body, report_id=rid, agent_id="a")
        return rid

    ids = [put() for _ in range(20)]
    spool.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    ids += [put() for _ in range(20)]  # these exist only in the WAL
    spool.ack(spool.peek(1)[0].seq)  # the first report was delivered: it must not come back
    # The power goes: on disk are the main file and its WAL, not checkpointed again.
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    for suffix in ("", "-wal"):
        (crashed / f"spool.db{suffix}").write_bytes(Path(f"{live}{suffix}").read_bytes())
    spool.close()
    data = bytearray((crashed / "spool.db").read_bytes())
    data[12 * 4096 : 14 * 4096] = rng.randbytes(2 * 4096)  # and the disk garbles two pages
    (crashed / "spool.db").write_bytes(bytes(data))
    got = [i.report_id for i in Spool(crashed / "spool.db").peek(100)]
    assert set(ids[20:]) <= set(got) and ids[0] not in got
    assert len(got) >= 32 and got == [rid for rid in ids if rid in set(got)]


def test_delivered_reports_do_not_come_back(tmp_path: Path) -> None:
    rng = random.Random(11)
    path = tmp_path / "spool.db"
    ids, _ = _filled(path, 40, pad=1000, rng=rng)
    spool = Spool(path)
    for item in spool.peek(20):
        spool.ack(item.seq)
    spool.close()
    damaged = bytearray(path.read_bytes())
    at = 3 * len(damaged) // 4
    damaged[at : at + 4096] = rng.randbytes(4096)
    path.write_bytes(bytes(damaged))
    got = [i.report_id for i in Spool(path).peek(100)]
    assert len(got) >= 15 and set(got) <= set(ids[20:])


def test_salvage_reads_rows_exactly_as_sqlite_does(tmp_path: Path) -> None:
    from agent.salvage import rows

    spool = Spool(tmp_path / "spool.db")
    for i in range(60):
        rid = str(uuid.uuid4())
        spool.enqueue(
            json.dumps({"report_id": rid, "pad": "é" * (i * 97)}).encode(),
            report_id=rid,
            agent_id="agent-é",
            kind="full",
            failing=i - 30,
            sections={"os": "ab" * 32} if i % 2 else None,
        )
    for item in spool.peek(5):
        spool.note_failure(item.seq, "collector error 500: boom")
    spool.quarantine(spool.peek(1)[0].seq, "refused (422)")
    spool.close()
    db = sqlite3.connect(tmp_path / "spool.db")
    expected = {
        r[0]: [None, *r[1:]]
        for r in db.execute(
            "SELECT seq, report_id, agent_id, subject, kind, failing, created_at, size, sections, attempts, "
            "last_error, body, strikes FROM outbox"
        )
    }
    db.close()
    found = {rowid: values for rowid, values in rows(tmp_path / "spool.db") if len(values) == 13}
    assert found == expected and len(found) == 59


def test_full_disk_fails_enqueue_clearly_and_recovers(tiny_fs: Path) -> None:
    spool = Spool(tiny_fs / "spool.db")
    first = _put(spool, pad=1000)
    filler = fill_disk(tiny_fs)
    with pytest.raises(SpoolFull, match="disk full"):
        for _ in range(50):
            _put(spool, pad=20000)
    assert spool.peek(1)[0].report_id == first  # what was acknowledged is still there
    filler.unlink()
    after = _put(spool, pad=1000)
    assert after in {i.report_id for i in spool.peek(100)}


ENQUEUE_LOOP = """
import sys, uuid, json
from pathlib import Path
from agent.spool import Spool
spool = Spool(Path(sys.argv[1]))
while True:
    rid = str(uuid.uuid4())
    spool.enqueue(json.dumps({"report_id": rid, "pad": "x" * 3000}).encode(), report_id=rid, agent_id="a")
    sys.stdout.write(rid + "\\n")
    sys.stdout.flush()
"""


def test_sigkill_during_enqueue_loses_no_acknowledged_report(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    acknowledged: list[str] = []
    rng = random.Random(4)
    for _ in range(12):
        proc = subprocess.Popen(
            [sys.executable, "-c", ENQUEUE_LOOP, str(path)], stdout=subprocess.PIPE, text=True
        )
        time.sleep(0.4 + rng.random() * 0.4)  # start-up, then a random moment mid-write
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
        # A line is printed only after enqueue returned: those must be on disk.
        acknowledged += [line for line in out.splitlines() if len(line) == 36]
    assert len(acknowledged) > 12
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()
    spool = Spool(path)
    stored = {i.report_id for i in spool.peek(100_000)}
    assert set(acknowledged) <= stored
    assert spool.stats().quarantined == 0
