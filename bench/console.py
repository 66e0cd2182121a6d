"""The console at city size: keyset pages, sorts, filters, the global search and the overview over
N devices (default 100,000 in 103 communes). Prints p50/p95 per query; not part of the test run.

    python -m bench.console [N]                       # a SQLite file
    WARDWATCH_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench python -m bench.console
    WARDWATCH_BENCH_REUSE=1 ... python -m bench.console   # time again without seeding (same database)

The rows are those of bench/seed.py (facts, addresses, 25 programs each out of a catalogue of 3,000,
20 check results, findings for the failures, certificates, assets, scores).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from collector.db import make_engine
from collector.migrate import upgrade
from collector.services import search, snapshots
from collector.services.overview import city_overview
from collector.services.tables import base
from collector.services.tables.devices import TABLE as DEVICES
from collector.services.tables.findings import TABLE as FINDINGS
from collector.services.tables.software import TABLE as SOFTWARE

SITES = 103


def seed(engine: Any, n: int) -> None:
    """The fleet of bench/seed.py (one seeding for every read-side bench), in 103 communes."""
    from bench.seed import seed as seed_fleet

    seed_fleet(engine, devices=n, sites=SITES, admin_password=None)


def timed(label: str, fn: Callable[[], Any], runs: int = 20) -> None:
    fn()  # warm the caches once
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    p95 = samples[max(0, int(len(samples) * 0.95) - 1)]
    print(f"{label:58s} p50 {statistics.median(samples):7.1f} ms   p95 {p95:7.1f} ms")


def main(n: int) -> None:
    url = os.environ.get("WARDWATCH_BENCH_DATABASE_URL")
    tmp = tempfile.TemporaryDirectory()
    url = url or f"sqlite:///{tmp.name}/bench.db"
    upgrade(url)
    engine = make_engine(url)
    if os.environ.get("WARDWATCH_BENCH_REUSE") != "1":  # 1: time again on a database seeded before
        seed(engine, n)
    from sqlmodel import Session

    with Session(engine) as s:

        def page(
            table: base.Table, sort: str | None = None, cursor: str | None = None, **filters: str
        ) -> Any:
            return base.page(
                s, table, scope=None, filters=filters, sort=sort, cursor=cursor, limit=50, with_total=False
            )

        deep = page(DEVICES, sort="hostname")
        for _ in range(40):  # a cursor 2,000 rows in
            deep = page(DEVICES, sort="hostname", cursor=deep.next_cursor)
        by_last = page(DEVICES, sort="-last_report")
        timed("devices: first page by hostname", lambda: page(DEVICES, sort="hostname"))
        timed(
            "devices: a page 2,000 rows in (keyset)",
            lambda: page(DEVICES, sort="hostname", cursor=deep.next_cursor),
        )
        timed(
            "devices: newest report first, next page",
            lambda: page(DEVICES, sort="-last_report", cursor=by_last.next_cursor),
        )
        timed("devices: one commune, by hostname", lambda: page(DEVICES, sort="hostname", site="X0042"))
        timed(
            "devices: with the count (console)",
            lambda: base.page(s, DEVICES, scope=None, filters={}, sort="hostname", cursor=None, limit=50),
        )
        timed("devices: software winrar<6", lambda: page(DEVICES, sort="hostname", software="winrar<6"))
        timed("findings: open, most severe first", lambda: page(FINDINGS, status="open"))
        timed("software: programs named 'program 01'", lambda: page(SOFTWARE, q="program 01"))
        timed("search: 'pc-0421' (hostname)", lambda: search.search(s, q="pc-0421", scope=None))
        timed("search: 'SN00042' (serial)", lambda: search.search(s, q="SN00042", scope=None))
        timed("search: '10.0.42.7' (IP)", lambda: search.search(s, q="10.0.42.7", scope=None))
        timed(
            "search: 'winrar<6.23' (software versions)", lambda: search.search(s, q="winrar<6.23", scope=None)
        )
        overview = lambda: city_overview(s, scope=None, stale_minutes=30)  # noqa: E731
        timed("overview, before any snapshot (every site live)", overview, runs=3)
        t0 = time.perf_counter()
        snapshots.record_all(s)
        s.commit()
        label = "snapshots: every site once (what a daily job costs)"
        print(f"{label:58s} {1000 * (time.perf_counter() - t0):7.1f} ms")
        timed("overview: 103 communes from their snapshots, with trends", overview)
    engine.dispose()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
