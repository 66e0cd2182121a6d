"""CPU of one hourly delta report through the whole app, in this process: key check, dependencies,
body read, ingest, answer; and of the derived jobs it queues.

    python bench/delta_cpu.py [--database-url URL] [--hosts 50] [--rounds 4] [--concurrency 8]
        [--profile DIR] [--py-spy OUT]

Builds the collector in this process (no ingest process, no job worker, no scheduler: a serving
process storing small reports in its worker threads, as ``serve`` does for deltas) on a fresh SQLite
file or a fresh database created on the PostgreSQL server of ``--database-url`` (dropped
afterwards). Each host enrolls and sends the full report of ``bench/ingest.py`` (not timed), then
``--rounds`` rounds of the bench's hourly deltas (memory and filesystems changed, the other sections
named by hash, no results) are sent through the ASGI app itself (the same middleware, routing,
dependencies, worker-thread hand-offs and answer as under uvicorn; only the HTTP parsing and the
socket are left out), ``--concurrency`` at once; the job queue is drained after each round, as a
worker that far behind would.

Prints one JSON object: milliseconds of this process's CPU (``time.process_time``, every thread:
the database server's own CPU is not in it, SQLite's is) and of wall time per delta, for the
requests and for the drains, and the SQL statements per delta. The first round is a warm-up and is
not counted. ``--profile DIR`` runs the rounds once more under cProfile in every thread
(``DIR/requests.prof``, ``DIR/jobs.prof``) and adds the Python function calls per delta, which do
not depend on the machine's load; ``--py-spy OUT`` records the timed rounds with py-spy.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gzip
import json
import pstats
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


async def post(app: Any, key: str, body: bytes) -> int:
    """One ``POST /api/v1/reports`` through the ASGI app; its status."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/reports",
        "raw_path": b"/api/v1/reports",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"authorization", f"Bearer {key}".encode()),
            (b"content-encoding", b"gzip"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def post_round(app: Any, items: list[tuple[str, bytes]], concurrency: int) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one(key: str, body: bytes) -> None:
        async with gate:
            status = await post(app, key, body)
        if status != 202:
            raise SystemExit(f"report answered {status}")

    await asyncio.gather(*(one(k, b) for k, b in items))


class ThreadProfiles:
    """cProfile in every thread started after ``install`` (the event loop's fresh worker threads) and in
    this one."""

    def __init__(self) -> None:
        self.profiles: list[cProfile.Profile] = []
        self.lock = threading.Lock()

    def install(self) -> None:
        def start(*_args: Any) -> None:
            profile = cProfile.Profile(time.process_time)
            with self.lock:
                self.profiles.append(profile)
            profile.enable()  # replaces this hook in the thread

        threading.setprofile(start)
        main = cProfile.Profile(time.process_time)
        self.profiles.append(main)
        main.enable()

    def stop(self) -> pstats.Stats:
        threading.setprofile(None)  # type: ignore[arg-type]
        for profile in self.profiles:
            profile.disable()  # in another thread: stops nothing there, but create_stats reads it
        stats = pstats.Stats(self.profiles[0])
        for profile in self.profiles[1:]:
            stats.add(profile)
        return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url")
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--profile", type=Path)
    parser.add_argument(
        "--py-spy",
        metavar="OUT",
        help="record this process with py-spy during the timed rounds (samples holding the GIL, raw "
        "collapsed stacks to OUT)",
    )
    args = parser.parse_args()

    from fastapi.testclient import TestClient
    from sqlalchemy import event

    from bench.ingest import delta_report, realistic
    from bench.scratch import scratch_database
    from collector.app import GIL_SWITCH_SECONDS, create_app, freeze_startup_heap
    from collector.migrate import upgrade
    from collector.services.jobs import run_pending_jobs
    from collector.settings import CollectorSettings
    from tests.helpers import enroll, seed_site

    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.mkdtemp()
    statements = [0]
    with scratch_database(args.database_url, tmp, "ww_dcpu") as url:
        upgrade(url)
        settings = CollectorSettings(
            database_url=url,
            data_dir=Path(tmp) / "data",
            job_worker=False,
            scheduler_enabled=False,
            ingest_processes=0,
        )
        app = create_app(settings)
        engine = app.state.engine
        with TestClient(app) as client:
            secret = seed_site(engine)
            agents = [enroll(client, secret, hostname=f"h{i}") for i in range(args.hosts)]
        first = [realistic(a.agent_id, h, 0) for h, a in enumerate(agents)]
        with TestClient(app) as client:
            for a, report in zip(agents, first, strict=True):
                r = client.post(
                    "/api/v1/reports",
                    content=gzip.compress(report.model_dump_json().encode()),
                    headers={"Authorization": f"Bearer {a.key}", "Content-Encoding": "gzip"},
                )
                assert r.status_code == 202, r.text
        run_pending_jobs(engine, settings)

        @event.listens_for(engine, "before_cursor_execute")
        def _count(*_a: Any) -> None:
            statements[0] += 1

        rounds = [
            [(a.key, delta_report(a.agent_id, h, seq, first[h])) for h, a in enumerate(agents)]
            for seq in range(1, 2 * args.rounds + 2)
        ]
        sys.setswitchinterval(GIL_SWITCH_SECONDS)  # as the app's lifespan sets it under serve
        freeze_startup_heap()

        def run(rounds_now: list[list[tuple[str, bytes]]], profiles: ThreadProfiles | None) -> dict[str, Any]:
            # A fresh event loop, hence fresh worker threads (profiled from their start).
            for name in ("ingest_inline_limiter", "ingest_limiter"):
                if hasattr(app.state, name):
                    delattr(app.state, name)
            cpu = {"requests": 0.0, "jobs": 0.0}
            wall = {"requests": 0.0, "jobs": 0.0}
            count = {"requests": 0, "jobs": 0}
            job_profile = cProfile.Profile(time.process_time) if profiles else None

            async def body() -> None:
                for items in rounds_now:
                    c0, w0, s0 = time.process_time(), time.perf_counter(), statements[0]
                    await post_round(app, items, args.concurrency)
                    cpu["requests"] += time.process_time() - c0
                    wall["requests"] += time.perf_counter() - w0
                    count["requests"] += statements[0] - s0
                    c0, w0, s0 = time.process_time(), time.perf_counter(), statements[0]
                    if job_profile is not None:
                        job_profile.enable()
                    run_pending_jobs(engine, settings)
                    if job_profile is not None:
                        job_profile.disable()
                    cpu["jobs"] += time.process_time() - c0
                    wall["jobs"] += time.perf_counter() - w0
                    count["jobs"] += statements[0] - s0

            if profiles is not None:
                profiles.install()
            asyncio.run(body())
            n = sum(len(items) for items in rounds_now)
            out: dict[str, Any] = {
                "deltas": n,
                "request_cpu_ms": round(1000 * cpu["requests"] / n, 2),
                "request_wall_ms": round(1000 * wall["requests"] / n, 2),
                "request_statements": round(count["requests"] / n, 2),
                "jobs_cpu_ms": round(1000 * cpu["jobs"] / n, 2),
                "jobs_wall_ms": round(1000 * wall["jobs"] / n, 2),
                "jobs_statements": round(count["jobs"] / n, 2),
            }
            if profiles is not None and job_profile is not None:
                stats = profiles.stop()
                assert args.profile is not None
                stats.dump_stats(str(args.profile / "requests.prof"))
                job_profile.dump_stats(str(args.profile / "jobs.prof"))
                out["request_python_calls"] = round(stats.total_calls / n)  # type: ignore[attr-defined]
                jobs_stats = pstats.Stats(job_profile)
                out["jobs_python_calls"] = round(jobs_stats.total_calls / n)  # type: ignore[attr-defined]
            return out

        run(rounds[:1], None)  # warm-up: caches, pool, compiled statements
        spy = None
        if args.py_spy:
            import os

            from bench.ingest import start_py_spy

            spy = start_py_spy(os.getpid(), args.py_spy)
        timed = run(rounds[1 : 1 + args.rounds], None)
        if spy is not None:
            from bench.ingest import stop_py_spy

            stop_py_spy(spy)
        profiled = run(rounds[1 + args.rounds :][: args.rounds], ThreadProfiles()) if args.profile else {}
        engine.dispose()
    out = {
        "backend": "postgresql" if args.database_url else "sqlite",
        "hosts": args.hosts,
        "concurrency": args.concurrency,
        **timed,
    }
    for key in ("request_python_calls", "jobs_python_calls"):
        if key in profiled:
            out[key] = profiled[key]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
