"""Change history cost: rows and bytes per device per day, and the time to diff a large section.

Ingests (through the real app, in process, on a fresh SQLite file) a PC with 1,500 programs sending
``--per-day`` reports a day for ``--days`` days, its free memory moving every report and nine
programs updated a day, then prints change rows and bytes (SQLite's dbstat) per device per day, and
the time ``software_changes`` takes on 1,500 programs.

    python bench/history_storage.py --days 30 --per-day 24
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inventory.facts import Facts, MemoryFacts, OsFacts, SoftwareFacts, SystemFacts
from inventory.report import HostIdentity, Report, Subject


def programs(day: int, n: int = 1500) -> list[SoftwareFacts]:
    # Nine programs (i % 500 < 3) get a new version each day.
    return [
        SoftwareFacts(name=f"Program {i:04d}", version=f"1.{day if i % 500 < 3 else 0}", vendor="ACME")
        for i in range(n)
    ]


def report(agent_id: str, day: int, seq: int) -> Report:
    facts = Facts(
        system=SystemFacts(hostname="ubnd-pc-0001", vendor="Dell Inc.", serial="SN000001"),
        os=OsFacts(family="windows", name="Windows 10 Pro", version="22H2", build="19045"),
        memory=MemoryFacts(total_bytes=8 * 2**30, available_bytes=(seq % 7 + 1) * 2**28),
        software=programs(day),
    )
    return Report(
        agent_id=agent_id,
        report_id=uuid.uuid4(),
        collected_at=datetime.now(UTC),
        subject=Subject(
            hostname="ubnd-pc-0001",
            host=HostIdentity(machine_id="m1", serial="SN000001", mac="00:11:22:33:44:55"),
        ),
        facts=facts,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--per-day", type=int, default=24)
    args = parser.parse_args()

    from fastapi.testclient import TestClient
    from sqlalchemy import text

    from collector.app import create_app
    from collector.migrate import upgrade
    from collector.services.history_diff import software_changes
    from collector.settings import CollectorSettings
    from tests.helpers import enroll, post_report, seed_site

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        app = create_app(
            CollectorSettings(database_url=url, data_dir=Path(tmp) / "data", notify_interval_seconds=0)
        )
        with TestClient(app) as client:
            agent = enroll(client, seed_site(app.state.engine, "P01"), "ubnd-pc-0001")
            start = time.perf_counter()
            sent = 0
            for day in range(args.days):
                for seq in range(args.per_day):
                    assert post_report(client, agent, report(agent.agent_id, day, seq)).status_code == 202
                    sent += 1
            elapsed = time.perf_counter() - start
            with app.state.engine.connect() as conn:
                rows = conn.execute(text("SELECT COUNT(*) FROM change_event")).scalar()
                try:
                    size = conn.execute(
                        text("SELECT SUM(pgsize) FROM dbstat WHERE name LIKE '%change_event%'")
                    ).scalar()
                except Exception:
                    size = None
        app.state.engine.dispose()
    print(f"reports ingested: {sent} in {elapsed:.1f} s ({sent / elapsed:.1f}/s, history hook included)")
    print(f"change rows: {rows} ({rows / args.days:.1f} per device per day)")
    if size:
        print(
            f"change_event table + indexes: {size / 1024:.1f} KB"
            f" ({size / args.days / 1024:.2f} KB per device per day)"
        )
    before, after = [s.model_dump() for s in programs(0)], [s.model_dump() for s in programs(1)]
    runs = 50
    t0 = time.perf_counter()
    for _ in range(runs):
        software_changes(before, after)
    print(f"software_changes on 1,500 programs: {(time.perf_counter() - t0) / runs * 1000:.2f} ms")


if __name__ == "__main__":
    main()
