"""Does ingest stall the collector? /healthz and a console page timed while the largest allowed reports
are ingested back to back.

Starts a real collector (uvicorn, one worker, like ``wardwatch serve``) on a fresh SQLite file, or on
PostgreSQL with ``--database-url``; ``--senders`` agents post reports at the per-report bounds (every
result and software entry the settings allow, each to its own new device) one after another, while
a prober asks /healthz and the overview page (a logged-in session) every ``--interval`` seconds.
Prints the probes' p50/p95/max during the ingest (target: p95 <= 200 ms), the ingest times, and the
memory of the collector's processes (the serving process and its ingest processes: RSS when started
and at the end, and the peak). ``--ingest-processes`` sets WARDWATCH_INGEST_PROCESSES for the
collector (default: its own, 1; 0 ingests in a thread of the serving process).

    python bench/ingest_stall.py --reports 8
    python bench/ingest_stall.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    python bench/ingest_stall.py --reports 8 --ingest-processes 0
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ingest import start_collector


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p * (len(ordered) - 1))))]


def figures(name: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"{name}: n={len(ms)} p50={statistics.median(ms):.0f}ms p95={percentile(ms, 0.95):.0f}ms "
        f"max={max(ms):.0f}ms"
    )


def memory(pid: int) -> dict[int, tuple[str, int, int]]:
    """(role, VmRSS KiB, VmHWM KiB) of ``pid`` and its child processes, from /proc (Linux)."""
    found: dict[int, tuple[str, int, int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = dict(
                line.split(":", 1) for line in (entry / "status").read_text().splitlines() if ":" in line
            )
        except OSError:
            continue
        me = int(entry.name)
        if me != pid and int(status["PPid"]) != pid:
            continue
        cmdline = (entry / "cmdline").read_bytes()
        role = "serving process" if me == pid else "ingest process"
        if b"resource_tracker" in cmdline:
            role = "multiprocessing resource tracker"
        kib = [int(status.get(k, "0 kB").split()[0]) for k in ("VmRSS", "VmHWM")]
        found[me] = (role, kib[0], kib[1])
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=8)
    parser.add_argument("--senders", type=int, default=2)
    parser.add_argument("--interval", type=float, default=0.05)
    parser.add_argument("--database-url")
    parser.add_argument("--ingest-processes", type=int)
    args = parser.parse_args()
    if args.ingest_processes is not None:
        os.environ["WARDWATCH_INGEST_PROCESSES"] = str(args.ingest_processes)

    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from collector.db import make_engine, session_scope
    from collector.http.deps import SESSION_COOKIE
    from collector.migrate import upgrade
    from collector.services.enrollment import create_enroll_secret
    from collector.services.sites import create_site
    from collector.services.users import create_auth_session, create_user
    from collector.settings import CollectorSettings
    from tests.helpers import free_port, largest_report

    settings = CollectorSettings()
    created_db = None
    if args.database_url:
        admin_engine = make_engine(args.database_url, isolation_level="AUTOCOMMIT")
        created_db = f"ww_bench_{uuid.uuid4().hex[:8]}"
        with admin_engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{created_db}"'))
        url = make_url(args.database_url).set(database=created_db).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    upgrade(url)
    engine = make_engine(url)
    with session_scope(engine) as s:
        create_site(s, code="BENCH", name="Benchmark")
        secret = create_enroll_secret(s, site_code="BENCH")
        user = create_user(s, username="bench", password="stall-probe-Passphrase-42", role="admin")
        cookie, _ = create_auth_session(s, user, kind="web", hours=1)
    engine.dispose()

    port = free_port()
    proc = start_collector(url, port, 1, tempfile.mkdtemp(prefix="ww-stall-"))  # one worker, like serve
    base = f"http://127.0.0.1:{port}"
    memory_at_start: dict[int, tuple[str, int, int]] = {}
    try:
        with httpx.Client(base_url=base, timeout=120) as c:
            agents = [
                c.post("/api/v1/agents/enroll", json={"secret": secret, "hostname": f"h{i}"}).json()
                for i in range(args.senders)
            ]
        bodies = []
        for i in range(args.reports):
            agent = agents[i % args.senders]
            report = largest_report(agent["agent_id"], settings, hostname=f"pc-big-{i}", serial=f"SN-BIG-{i}")
            bodies.append((agent, gzip.compress(report.model_dump_json().encode())))
        raw_size = len(gzip.decompress(bodies[0][1]))
        time.sleep(3)  # the ingest process imports the collector meanwhile
        memory_at_start = memory(proc.pid)

        done = threading.Event()
        probes: dict[str, list[float]] = {"healthz": [], "page": []}

        def probe() -> None:
            with httpx.Client(base_url=base, timeout=120, cookies={SESSION_COOKIE: cookie}) as c:
                while not done.is_set():
                    for name, path in (("healthz", "/healthz"), ("page", "/")):
                        t0 = time.perf_counter()
                        r = c.get(path)
                        if r.status_code != 200:
                            raise SystemExit(f"{path} answered {r.status_code}")
                        probes[name].append(time.perf_counter() - t0)
                    time.sleep(args.interval)

        def send(item: tuple[dict[str, str], bytes]) -> float:
            agent, body = item
            headers = {
                "Authorization": f"Bearer {agent['agent_key']}",
                "Content-Encoding": "gzip",
                "Content-Type": "application/json",
            }
            t0 = time.perf_counter()
            with httpx.Client(base_url=base, timeout=300) as c:
                r = c.post("/api/v1/reports", content=body, headers=headers)
            if r.status_code != 202:
                raise SystemExit(f"report answered {r.status_code}: {r.text[:300]}")
            return time.perf_counter() - t0

        prober = threading.Thread(target=probe, daemon=True)
        prober.start()
        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.senders) as pool:
            ingest_times = list(pool.map(send, bodies))
        wall = time.perf_counter() - t0
        done.set()
        prober.join(60)
        memory_at_end = memory(proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)
        if created_db:
            with admin_engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{created_db}" WITH (FORCE)'))
    backend = "postgresql" if args.database_url else "sqlite"
    print(
        f"backend={backend} reports={args.reports} senders={args.senders} "
        f"results={settings.report_max_results} software={settings.report_max_software} "
        f"body={raw_size / 1024:.0f}KiB gzip={len(bodies[0][1]) / 1024:.0f}KiB wall={wall:.1f}s"
    )
    print(figures("ingest", ingest_times))
    print(figures("healthz", probes["healthz"]))
    print(figures("page /", probes["page"]))
    for pid, (role, rss, peak) in memory_at_end.items():
        started = memory_at_start.get(pid, (role, 0, 0))[1]
        print(
            f"memory {role} pid {pid}: rss at start {started / 1024:.0f} MiB, at end {rss / 1024:.0f} MiB, "
            f"peak {peak / 1024:.0f} MiB"
        )


if __name__ == "__main__":
    main()
