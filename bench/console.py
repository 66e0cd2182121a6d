"""The console at city size: keyset pages, sorts, filters, the global search and the overview over
N devices (default 100,000 in 103 communes). Prints p50/p95 per query; not part of the test run.

    python -m bench.console [N]                       # a SQLite file
    WARDWATCH_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench python -m bench.console
    WARDWATCH_BENCH_REUSE=1 ... python -m bench.console   # time again without seeding (same database)

The rows are written straight into the tables (the ingest path has its own bench: bench/ingest.py):
devices with addresses, 25 programs each out of a catalogue of 3,000 (name, version), 20 check
results each, findings for the failures, one certificate per ten devices.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from collector.db import make_engine
from collector.migrate import upgrade
from collector.services import search, snapshots
from collector.services.overview import city_overview
from collector.services.search_index import fold
from collector.services.tables import base
from collector.services.tables.devices import TABLE as DEVICES
from collector.services.tables.findings import TABLE as FINDINGS
from collector.services.tables.software import TABLE as SOFTWARE
from collector.services.versions import version_key

SITES = 103
PROGRAMS_PER_DEVICE = 25
CHECKS = [f"host.check_{i:02d}" for i in range(20)]
NOW = datetime.now(UTC)


def _insert(conn: Any, table: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    cols = list(rows[0])
    sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)})"
    for start in range(0, len(rows), 5000):
        conn.execute(text(sql), rows[start : start + 5000])


def seed(engine: Any, n: int) -> None:
    rnd = random.Random(20261205)
    with engine.begin() as conn:
        _insert(
            conn,
            "site",
            [
                {
                    "id": s + 1,
                    "code": f"X{s:03d}",
                    "name": f"Xã số {s}",
                    "group_name": f"Cụm {s % 8}",
                    "created_at": NOW,
                }
                for s in range(SITES)
            ],
        )
        names = [f"Program {i:04d}" for i in range(600)] + ["WinRAR (64-bit)", "Google Chrome", "UniKey"]
        packages = []
        for pid in range(3000):
            name = names[pid % len(names)]
            version = f"{pid % 9 + 1}.{pid % 37}"
            packages.append(
                {
                    "id": pid + 1,
                    "name": name,
                    "version": version,
                    "name_fold": fold(name),
                    "version_key": version_key(version),
                    "vendor": "Vendor",
                }
            )
        _insert(conn, "software_package", packages)
    t0 = time.perf_counter()
    for start in range(0, n, 10000):
        devices, software, addresses, results, findings = [], [], [], [], []
        for i in range(start, min(n, start + 10000)):
            site = rnd.randrange(SITES) + 1
            seen = NOW - timedelta(minutes=rnd.randrange(60 * 24 * 30))
            devices.append(
                {
                    "id": i + 1,
                    "site_id": site,
                    "kind": "host",
                    "hostname": f"pc-{i:06d}",
                    "serial": f"SN{i:08d}",
                    "mac": f"00:16:3e:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x}",
                    "first_seen_at": seen,
                    "last_report_at": seen,
                }
            )
            addresses.append(
                {
                    "device_id": i + 1,
                    "kind": "ip",
                    "value": f"10.{site}.{i >> 8 & 255}.{i & 255}",
                    "site_id": site,
                }
            )
            for pid in rnd.sample(range(1, 3001), PROGRAMS_PER_DEVICE):
                software.append({"device_id": i + 1, "package_id": pid, "site_id": site})
            for c, check in enumerate(CHECKS):
                failed = rnd.random() < 0.2
                results.append(
                    {
                        "device_id": i + 1,
                        "check_id": check,
                        "target": "",
                        "status": "fail" if failed else "pass",
                        "evidence": "",
                        "updated_at": seen,
                        "report_id": "bench",
                    }
                )
                if failed:
                    findings.append(
                        {
                            "device_id": i + 1,
                            "site_id": site,
                            "check_id": check,
                            "target": "",
                            "known": False,
                            "severity": ("critical", "high", "medium", "low")[c % 4],
                            "status": "open",
                            "evidence": "",
                            "first_seen_at": seen,
                            "last_seen_at": seen,
                            "opened_at": seen,
                            "due_at": seen + timedelta(days=30),
                            "reopen_count": 0,
                        }
                    )
        with engine.begin() as conn:
            _insert(conn, "device", devices)
            _insert(conn, "device_address", addresses)
            _insert(conn, "device_software", software)
            _insert(conn, "deviceresult", results)
            _insert(conn, "finding", findings)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    print(f"seeded {n} devices in {time.perf_counter() - t0:.0f} s")


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
        timed("devices: one commune, by hostname", lambda: page(DEVICES, sort="hostname", site="X042"))
        timed(
            "devices: with the count (console)",
            lambda: base.page(s, DEVICES, scope=None, filters={}, sort="hostname", cursor=None, limit=50),
        )
        timed("devices: software winrar<6", lambda: page(DEVICES, sort="hostname", software="winrar<6"))
        timed("findings: open, most severe first", lambda: page(FINDINGS, status="open"))
        timed("software: programs named 'program 01'", lambda: page(SOFTWARE, q="program 01"))
        timed("search: 'pc-0421' (hostname)", lambda: search.search(s, q="pc-0421", scope=None))
        timed("search: 'SN00042' (serial)", lambda: search.search(s, q="SN00042", scope=None))
        timed("search: '10.42.1.7' (IP)", lambda: search.search(s, q="10.42.1.7", scope=None))
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
