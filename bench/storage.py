"""Storage cost: database bytes per device per day at the agent's default schedule.

A commune PC's default day (agent/config.py ``Intervals``): a heartbeat every 5 minutes, an inventory
every hour, a full report once a day and deltas in between: 1 full + 23 deltas + 264 heartbeats.
Reports are bench/ingest.py's realistic ones (1,500 packages, 40 check results, ~10 KiB gzip); the
free memory moves every report, the check results (all of them in every delta) change once a day,
nine programs get a new version each day. They are posted through the real app (in process) with
gzip, as the agent sends them, on a fresh SQLite file or a fresh PostgreSQL database (created on the server of
``--database-url``, dropped after).

Printed: the database's size after the first simulated day (devices, their current state and the
first reports) and after the last, the growth per device per day of each table between the two, and
their sum over the tables that grow: what the fleet adds each day, which the retention policy bounds
to 90 days of raw reports plus daily snapshots.

    python bench/storage.py --devices 10 --days 3
    python bench/storage.py --devices 10 --days 3 --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ingest import realistic_report
from checks.catalog import COLLECTOR_REJUDGED, load_catalog
from inventory.report import Report, ReportKind, result_tuple, results_set_hash, section_hash

TARGET_BYTES = 50_000


def _base(agent_id: str, host: int, seq: int) -> Report:
    return Report.model_validate_json(gzip.decompress(realistic_report(agent_id, host, seq)))


def day_of_reports(
    agent_id: str,
    host: int,
    day: int,
    start: datetime,
    *,
    deltas: int,
    heartbeats: int,
    results: str = "changed",
) -> list[tuple[Report, bytes]]:
    """One device's day: a full report, then ``deltas`` deltas against it; heartbeats in between."""
    out: list[tuple[Report, bytes]] = []
    full = _base(agent_id, host, day * 100)
    software = full.facts.software or []
    for i in range(9):  # nine programs updated a day
        j = (day * 9 + i) % len(software)
        software[j] = software[j].model_copy(update={"version": f"{day}.{i}"})
    full = full.model_copy(update={"collected_at": start})
    out.append((full, full.model_dump_json().encode()))
    hashes = {name: section_hash(data) for name, data in full.present_sections().items()}
    per_slot = heartbeats // max(deltas + 1, 1)
    catalog = load_catalog()
    modules = sorted({catalog[r.check_id].module for r in full.results})
    seq = 0
    for hour in range(deltas + 1):
        at = start + timedelta(hours=hour)
        if hour:
            moved = _base(agent_id, host, day * 100 + hour)
            moved = moved.model_copy(
                update={"facts": full.facts.model_copy(update={"memory": moved.facts.memory})}
            )
            sections = moved.present_sections()
            unchanged = {n: h for n, h in hashes.items() if section_hash(sections.get(n)) == h}
            facts = moved.facts.model_copy(update=dict.fromkeys(unchanged))
            delta = moved.model_copy(
                update={
                    "report_id": uuid.uuid4(),
                    "kind": ReportKind.DELTA,
                    "facts": facts,
                    "partial": unchanged,
                    "base_report_id": full.report_id,
                    "collected_at": at,
                    # The checks run hourly; their verdicts hold through the day (a check flips
                    # when someone changes the PC, not each hour). ``every``: each delta carries
                    # every result (agents before results_hash); ``changed``: only those that
                    # changed since the base (none here) and the hash of the whole set.
                    **(
                        {"results": full.results}
                        if results == "every"
                        else {
                            "results": [],
                            "modules": modules,
                            "results_hash": results_set_hash(
                                result_tuple(r) for r in full.results if r.check_id not in COLLECTOR_REJUDGED
                            ),
                        }
                    ),
                }
            )
            delta = Report.model_validate(delta.model_dump())
            out.append((delta, delta.model_dump_json().encode()))
            # The agent's baseline follows what it sent: the collector checks against its current state.
            hashes.update({n: section_hash(d) for n, d in delta.present_sections().items()})
        for k in range(per_slot):
            seq += 1
            beat = {
                "schema_version": full.schema_version,
                "report_id": str(uuid.uuid4()),
                "agent_id": agent_id,
                "collected_at": (at + timedelta(minutes=5 * (k + 1))).isoformat(),
                "kind": "heartbeat",
                "subject": json.loads(full.subject.model_dump_json()),
            }
            out.append((Report.model_validate(beat), json.dumps(beat).encode()))
    return out


def table_bytes(engine: Any) -> dict[str, int]:
    """Bytes by table, its indexes included (partitions counted in their parent)."""
    from sqlalchemy import text

    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.execute(
                text(
                    "SELECT coalesce(m.tbl_name, d.name), sum(d.pgsize) FROM dbstat d "
                    "LEFT JOIN sqlite_master m ON m.name = d.name GROUP BY 1"
                )
            ).all()
        else:
            rows = conn.execute(
                text(
                    "SELECT CASE WHEN n.nspname = 'wardwatch_partitions' THEN 'rawreport' "
                    "ELSE c.relname END, "
                    "sum(pg_total_relation_size(c.oid)) FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE c.relkind = 'r' AND n.nspname IN ('public', 'wardwatch_partitions') GROUP BY 1"
                )
            ).all()
    return {str(name): int(size) for name, size in rows}


def database_bytes(engine: Any) -> int:
    from sqlalchemy import text

    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
            free = conn.exec_driver_sql("PRAGMA freelist_count").scalar()
            size = conn.exec_driver_sql("PRAGMA page_size").scalar()
            return int((pages - free) * size)
        conn.commit()
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM")
        return int(
            conn.execute(
                text(
                    "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE c.relkind = 'r' AND n.nspname IN ('public', 'wardwatch_partitions')"
                )
            ).scalar()
        )


def run(
    url: str,
    data_dir: Path,
    *,
    devices: int,
    days: int,
    deltas: int,
    heartbeats: int,
    results: str = "changed",
) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from collector.app import create_app
    from collector.migrate import upgrade
    from collector.settings import CollectorSettings
    from tests.helpers import enroll, seed_site

    upgrade(url)
    settings = CollectorSettings(
        database_url=url, data_dir=data_dir, notify_interval_seconds=0, retention_interval_hours=0
    )
    app = create_app(settings)
    sizes: list[int] = []
    tables: list[dict[str, int]] = []
    today = datetime.now(UTC).replace(hour=1, minute=0, second=0, microsecond=0)
    counts = {"full": 0, "delta": 0, "heartbeat": 0}
    with TestClient(app) as client:
        secret = seed_site(app.state.engine, "P01")
        agents = [enroll(client, secret, f"ubnd-pc-{h:04d}") for h in range(devices)]
        for day in range(days):
            start = today - timedelta(days=days - day)
            for host, agent in enumerate(agents):
                for report, body in day_of_reports(
                    agent.agent_id, host, day, start, deltas=deltas, heartbeats=heartbeats, results=results
                ):
                    headers = {
                        **agent.headers,
                        "Content-Type": "application/json",
                        "Content-Encoding": "gzip",
                    }
                    r = client.post("/api/v1/reports", content=gzip.compress(body, 6), headers=headers)
                    assert r.status_code == 202, r.text
                    counts[report.kind.value] += 1
            sizes.append(database_bytes(app.state.engine))
            tables.append(table_bytes(app.state.engine))
    app.state.engine.dispose()
    growth = {t: round((n - tables[0].get(t, 0)) / devices / max(days - 1, 1)) for t, n in tables[-1].items()}
    # What the tables that grow add. Tables rewritten in place (agents, devices, scores: every
    # heartbeat moves a time) do not grow from day to day; on PostgreSQL their dead rows of the first
    # day even make them shrink after VACUUM, which a plain difference would subtract.
    per_day = sum(n for n in growth.values() if n > 0)
    return {
        "database": app.state.engine.dialect.name,
        "devices": devices,
        "days": days,
        "delta_results": results,
        "reports": counts,
        "bytes_after_first_day": sizes[0],
        "bytes_after_last_day": sizes[-1],
        "bytes_per_device_per_day": round(per_day),
        "net_bytes_per_device_per_day": round((sizes[-1] - sizes[0]) / devices / max(days - 1, 1)),
        "target_bytes_per_device_per_day": TARGET_BYTES,
        "bytes_per_device_per_day_by_table": {
            t: n for t, n in sorted(growth.items(), key=lambda i: -i[1]) if n
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=10)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--deltas", type=int, default=23, help="deltas a day (hourly inventory)")
    parser.add_argument("--heartbeats", type=int, default=264, help="heartbeats a day (every 5 minutes)")
    parser.add_argument("--database-url", help="a PostgreSQL server: a fresh database is made on it")
    parser.add_argument(
        "--results",
        choices=("changed", "every"),
        default="changed",
        help="what a delta carries: the results that changed (agents with results_hash) or every one",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.days < 2:
        parser.error("--days must be at least 2 (growth is measured from the end of the first day)")
    kw = {
        "devices": args.devices,
        "days": args.days,
        "deltas": args.deltas,
        "heartbeats": args.heartbeats,
        "results": args.results,
    }
    with tempfile.TemporaryDirectory() as tmp:
        if not args.database_url:
            out = run(f"sqlite:///{tmp}/bench.db", Path(tmp) / "data", **kw)
        else:
            from sqlalchemy import create_engine, text
            from sqlalchemy.engine import make_url

            base = make_url(args.database_url)
            name = f"ww_storage_{uuid.uuid4().hex[:10]}"
            admin = create_engine(base, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                url = base.set(database=name).render_as_string(hide_password=False)
                out = run(url, Path(tmp) / "data", **kw)
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
    if args.json:
        print(json.dumps(out))
        return
    r = out["reports"]
    n = out["devices"] * out["days"]
    print(
        f"{out['database']}: {out['devices']} devices x {out['days']} days, per device per day "
        f"{r['full'] // n} full + {r['delta'] // n} deltas + {r['heartbeat'] // n} heartbeats"
    )
    print(
        f"database after day 1: {out['bytes_after_first_day'] / 1024:.0f} KiB, after day {out['days']}: "
        f"{out['bytes_after_last_day'] / 1024:.0f} KiB"
    )
    print(
        "by table (bytes/device/day):",
        ", ".join(f"{t} {n:,}" for t, n in out["bytes_per_device_per_day_by_table"].items()),
    )
    print(
        f"bytes/device/day: {out['bytes_per_device_per_day']:,} "
        f"({out['bytes_per_device_per_day'] / 1024:.1f} KiB; target <= {TARGET_BYTES:,})"
    )


if __name__ == "__main__":
    main()
