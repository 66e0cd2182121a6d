"""EXPLAIN (ANALYZE, BUFFERS) of the statements behind each hot list, on a seeded PostgreSQL database.

    python bench/explain.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/i15d_bench

Each list is called once through its service (what the API and the console call); every statement it
sends is captured with its parameters and explained again with ANALYZE; the most expensive statements
of each list are printed with their plans. docs/architecture.md quotes these plans to justify the
indexes of migration i15d_read_0001. Not part of the test run.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


@contextmanager
def captured(engine: Any) -> Iterator[list[tuple[str, Any]]]:
    from sqlalchemy import event

    seen: list[tuple[str, Any]] = []

    def before(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and not many:
            seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


def explain(engine: Any, label: str, call: Callable[[], Any], top: int = 5) -> None:
    call()  # warm
    with captured(engine) as seen:
        call()
    plans = []
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        for statement, params in seen:
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
            lines = [r[0] for r in cur.fetchall()]
            ms = next(
                (float(x.split(":")[1].split()[0]) for x in lines if x.startswith("Execution Time")), 0.0
            )
            plans.append((ms, statement, lines))
        raw.rollback()
    finally:
        raw.close()
    total = sum(p[0] for p in plans)
    print(f"\n=== {label}: {len(plans)} statements, {total:.1f} ms of execution in all")
    for ms, statement, lines in sorted(plans, key=lambda p: -p[0])[:top]:
        print(f"--- {ms:.1f} ms: {' '.join(statement.split())[:300]}")
        for line in lines:
            print("    " + line)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    args = parser.parse_args(argv)

    from sqlmodel import Session

    from collector.db import make_engine
    from collector.services import devices, ranking, search
    from collector.services.overview import city_overview
    from collector.services.tables import base
    from collector.services.tables.certificates import TABLE as CERTS
    from collector.services.tables.devices import TABLE as DEVICES
    from collector.services.tables.findings import TABLE as FINDINGS

    engine = make_engine(args.database_url)
    with Session(engine) as s:

        def page(table: Any, **filters: str) -> Any:
            sort = filters.pop("sort", None)
            return base.page(s, table, scope=None, filters=filters, sort=sort, cursor=None, limit=50)

        site = "X0042"
        explain(engine, "sites: first page", lambda: devices.page_sites(s, scope=None, limit=50))
        explain(engine, "devices: first page by hostname", lambda: page(DEVICES))
        explain(engine, "devices: one site", lambda: page(DEVICES, site=site))
        explain(engine, "devices: software winrar<6", lambda: page(DEVICES, software="winrar<6"))
        explain(engine, "findings: open, most severe first", lambda: page(FINDINGS, **FINDINGS.clean({})))
        explain(engine, "findings: one site", lambda: page(FINDINGS, **FINDINGS.clean({"site": site})))
        explain(engine, "certificates: expiring within 30 days", lambda: page(CERTS, days="30"))
        explain(engine, "search: pc-04211", lambda: search.search(s, q="pc-04211", scope=None))
        explain(engine, "overview", lambda: city_overview(s, scope=None, stale_minutes=30), top=4)
        explain(engine, "ranking: first page", lambda: ranking.rank(s, scope=None, min_score=15, limit=50))
    engine.dispose()


if __name__ == "__main__":
    main()
