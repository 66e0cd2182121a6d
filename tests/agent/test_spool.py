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
from tests.agent.conftest import small_report


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


def test_corrupt_file_is_moved_aside_and_a_fresh_spool_opens(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "spool.db"
    spool = Spool(path)
    _put(spool)
    spool.close()
    data = bytearray(path.read_bytes())
    data[:100] = b"\xff" * 100  # the header: SQLite no longer recognises the file
    path.write_bytes(bytes(data))
    spool = Spool(path)
    assert spool.stats().count == 0
    rid = _put(spool)
    assert spool.peek(1)[0].report_id == rid
    aside = list(tmp_path.glob("spool.db.corrupt-*"))
    assert aside and "is corrupt" in caplog.text


def test_damaged_pages_salvage_what_is_readable(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    spool = Spool(path)
    ids = [_put(spool, pad=2000) for _ in range(40)]
    spool.close()
    data = bytearray(path.read_bytes())
    page = 4096
    # Scribble over one page in the middle of the table's b-tree.
    middle = (len(data) // page // 2) * page
    data[middle : middle + page] = b"\x00\x13" * (page // 2)
    path.write_bytes(bytes(data))
    spool = Spool(path)  # never raises
    left = [i.report_id for i in spool.peek(100)]
    assert set(left) <= set(ids)
    _put(spool)  # and it takes reports again


@pytest.fixture
def tiny_fs(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A 1 MiB tmpfs (needs root); unmounted afterwards."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (needs root): {done.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_full_disk_fails_enqueue_clearly_and_recovers(tiny_fs: Path) -> None:
    spool = Spool(tiny_fs / "spool.db")
    first = _put(spool, pad=1000)
    filler = tiny_fs / "filler"
    with open(filler, "wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError:
            pass
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
