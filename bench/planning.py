"""Replacement planning speed: ingest N hosts (scored by the ingest hook), then time a full rescore,
a plan and its exports. Prints figures; not part of the test run.

    python -m bench.planning [N]        # default 2000 devices in 40 communes, on a SQLite file
    WARDWATCH_BENCH_DATABASE_URL=postgresql+psycopg://... python -m bench.planning 2000
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from datetime import date

from collector.db import make_engine, session_scope
from collector.migrate import upgrade
from collector.models.assets import DeviceScore
from collector.reports.planning_report import render_plan
from collector.services.planning import make_plan
from collector.services.scoring import load_config, recompute_scores
from inventory.facts import BatteryFacts
from tests.collector.planning.seed import add_site, ingest, old_security, pc_facts, ubuntu, win10

DISKS = [
    "nvme-healthy",
    "ssd-sata-healthy",
    "hdd-healthy-desktop-old",
    "hdd-reallocated-sectors",
    "hdd-failing-reallocated-pending",
    "nvme-high-percentage-used",
    "ssd-sata-worn",
]


def main(n: int) -> None:
    url = os.environ.get("WARDWATCH_BENCH_DATABASE_URL")
    tmp = tempfile.TemporaryDirectory()
    if not url:
        url = f"sqlite:///{tmp.name}/bench.db"
    upgrade(url)
    engine = make_engine(url)
    rnd = random.Random(7)
    agents = [add_site(engine, f"X{i:02d}", f"Xã số {i}") for i in range(40)]
    t0 = time.perf_counter()
    for i in range(n):
        old = rnd.random() < 0.4
        facts = pc_facts(
            f"pc-{i:05d}",
            serial=f"SN{i:06d}",
            chassis=rnd.choice(["desktop", "desktop", "laptop"]),
            disk=rnd.choice(DISKS),
            rotational=old,
            os=rnd.choice([win10(), ubuntu("22.04")]) if old else None,
            security=old_security() if old else None,
            bios_date=date(rnd.randint(2010, 2025), rnd.randint(1, 12), 1),
            ram_gb=rnd.choice([2, 4, 8, 16]),
            shutdowns=rnd.randint(0, 12),
            batteries=[
                BatteryFacts(name="BAT0", design_capacity_wh=48, full_charge_capacity_wh=rnd.randint(10, 48))
            ],
        )
        ingest(engine, url, agents[i % len(agents)], facts)
    ingest_s = time.perf_counter() - t0
    print(f"ingest with scoring hook: {n} reports in {ingest_s:.1f} s ({1000 * ingest_s / n:.1f} ms/report)")

    config = load_config()
    with session_scope(engine) as session:
        t0 = time.perf_counter()
        written = recompute_scores(session, config=config)
        unchanged_s = time.perf_counter() - t0
    print(f"rescore, inputs unchanged: {unchanged_s:.2f} s ({written} rows written)")
    with session_scope(engine) as session:
        session.exec(DeviceScore.__table__.delete())  # type: ignore[attr-defined]
    with session_scope(engine) as session:
        t0 = time.perf_counter()
        written = recompute_scores(session, config=config)
        full_s = time.perf_counter() - t0
    per = 1000 * full_s / max(1, written)
    print(f"rescore from scratch: {full_s:.2f} s ({written} rows, {per:.2f} ms/device)")
    with session_scope(engine) as session:
        t0 = time.perf_counter()
        plan = make_plan(session, budget=3_000_000_000, scope=None, min_per_site=2, config=config)
        plan_s = time.perf_counter() - t0
    print(f"plan: {len(plan.picks)} picks, {len(plan.non_picks)} non-picks in {plan_s:.2f} s (scores fresh)")
    for fmt in ("json", "csv", "xlsx", "pdf"):
        t0 = time.perf_counter()
        data = render_plan(plan, fmt)
        print(f"export {fmt}: {len(data) / 1024:.0f} KiB in {time.perf_counter() - t0:.2f} s")
    engine.dispose()
    tmp.cleanup()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
