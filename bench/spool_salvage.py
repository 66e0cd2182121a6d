"""Spool salvage: how many reports come back from a damaged spool file.

    python bench/spool_salvage.py [--seeds 10] [--reports 50]

For spools of ``--reports`` reports of several sizes (bodies of about 0.4, 1.1 and 3.3 KB gzip, and
11 KB that span overflow pages), prints per damage kind:
- ``intact``: reports whose stored bytes the damage did not touch (found by comparing the files,
  without parsing SQLite; not computed for bodies spread over overflow pages);
- ``salvaged``: reports the agent's page-by-page salvage recovers (``agent.spool``);
- ``sqlite``: what reading the table through SQLite recovers before its first error (the salvage
  before issue 14).
Damage kinds: 4 KiB of random bytes at a random offset in the middle half of the file; the file
cut to half its length. Targets (issue 14): 4 KiB -> >= 45 of 50; half a file -> every intact record.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.spool import Spool

PADS = {"0.4 KB": 300, "1.1 KB": 1000, "3.3 KB": 3000, "11 KB (overflow)": 10_000}


def _fill(path: Path, n: int, pad: int, rng: random.Random) -> tuple[list[str], dict[str, bytes]]:
    spool = Spool(path)
    ids = []
    for _ in range(n):
        rid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        body = json.dumps({"report_id": rid, "pad": rng.randbytes(pad).hex()}).encode()
        spool.enqueue(body, report_id=rid, agent_id="a", kind="delta")
        ids.append(rid)
    bodies = {i.report_id: i.body for i in spool.peek(n)}
    spool.close()
    return ids, bodies


def _intact(before: bytes, after: bytes, rid: str, body: bytes) -> bool:
    at = before.find(body)
    if at < 0:
        return False  # spread over overflow pages: not judged
    end = at + len(body)
    start = before.rfind(rid.encode(), 0, end) - 24
    return end <= len(after) and before[start:end] == after[start:end]


def _through_sqlite(path: Path) -> int:
    got = 0
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        for _row in db.execute("SELECT report_id FROM outbox ORDER BY seq"):
            got += 1
    except sqlite3.Error:
        pass
    return got


def one(n: int, pad: int, seed: int, kind: str) -> tuple[int, int, int, float]:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "spool.db"
        ids, bodies = _fill(path, n, pad, rng)
        before = path.read_bytes()
        if kind == "4 KiB":
            after = bytearray(before)
            at = rng.randrange(len(before) // 4, 3 * len(before) // 4)
            after[at : at + 4096] = rng.randbytes(4096)
        else:
            after = bytearray(before[: len(before) // 2])
        path.write_bytes(bytes(after))
        intact = sum(_intact(before, bytes(after), rid, bodies[rid]) for rid in ids)
        copy = Path(tmp) / "copy.db"
        copy.write_bytes(bytes(after))
        sqlite_got = _through_sqlite(copy)
        started = time.perf_counter()
        salvaged = len(Spool(path).peek(n + 1))
        return intact, salvaged, sqlite_got, time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--reports", type=int, default=50)
    args = ap.parse_args()
    logging.disable(logging.CRITICAL)
    print(f"{args.reports} reports per spool, seeds 0..{args.seeds - 1}")
    print(f"{'body':<18} {'damage':<8} {'intact':>22} {'salvaged':>22} {'sqlite':>22} {'open+salvage':>13}")
    for label, pad in PADS.items():
        for kind in ("4 KiB", "half"):
            rows = [one(args.reports, pad, seed, kind) for seed in range(args.seeds)]
            intact, salvaged, sqlite_got, secs = zip(*rows, strict=True)

            def fig(xs: tuple[int, ...]) -> str:
                return f"min {min(xs)} med {statistics.median(xs):g}"

            intact_fig = fig(intact) if "overflow" not in label else "-"
            print(
                f"{label:<18} {kind:<8} {intact_fig:>22} {fig(salvaged):>22} {fig(sqlite_got):>22}"
                f" {statistics.median(secs) * 1000:>10.0f} ms"
            )


if __name__ == "__main__":
    main()
