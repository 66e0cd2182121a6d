"""CPU of one full report's ingest and of the derived jobs it queues, in this process, without HTTP.

    python bench/ingest_cpu.py [--database-url URL] [--hosts 20] [--repeats 2] [--profile DIR]

Builds the collector in this process (no worker thread, no scheduler) on a fresh SQLite file or a
fresh database created on the PostgreSQL server of ``--database-url`` (dropped afterwards). Each host
sends the realistic full report of ``bench/ingest.py`` (``first``: a new host, 1,500 programs), the
job queue is drained, then each host sends ``--repeats`` more full reports (``repeat``: the common
case, software unchanged, memory and disk use changed, two results change status), each followed by
a drain. The report goes through ``collector.services.intake.ingest_body``, as the route's ingest
process calls it (parse, store, hooks); the HTTP, authentication and IPC around it are left out.

Prints one JSON object: per phase, milliseconds of this process's CPU (``time.process_time``: the
database server's own CPU is not in it, SQLite's is) and of wall time per report, for the ingest and
for the drain. CPU is the steadier figure on a shared machine. ``--profile DIR`` also writes a
cProfile (CPU time) of each phase and part (``DIR/first-ingest.prof``, ``DIR/repeat-jobs.prof``...;
read them with ``pstats``) and adds the Python function calls per report, which do not depend on
the machine's load (the times under the profiler are inflated by it).
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import json
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


class Phase:
    """CPU and wall seconds of the ingests and of the drains of one phase."""

    def __init__(self, profile: Path | None, name: str) -> None:
        self.ingest_cpu = self.ingest_wall = self.jobs_cpu = self.jobs_wall = 0.0
        self.reports = 0
        self.profilers = (
            {part: cProfile.Profile(time.process_time) for part in ("ingest", "jobs")} if profile else {}
        )
        self.profile = profile
        self.name = name

    def timed(self, what: str, fn: Any, *args: Any) -> Any:
        # Through a function named after the phase, so that a sampling profiler's stacks (py-spy)
        # tell the phases apart.
        return (_first if self.name == "first" else _repeat)(self._timed, what, fn, *args)

    def _timed(self, what: str, fn: Any, *args: Any) -> Any:
        profiler = self.profilers.get(what)
        c0, w0 = time.process_time(), time.perf_counter()
        if profiler is not None:
            profiler.enable()
        try:
            return fn(*args)
        finally:
            if profiler is not None:
                profiler.disable()
            cpu, wall = time.process_time() - c0, time.perf_counter() - w0
            if what == "ingest":
                self.ingest_cpu += cpu
                self.ingest_wall += wall
                self.reports += 1
            else:
                self.jobs_cpu += cpu
                self.jobs_wall += wall

    def figures(self) -> dict[str, float]:
        n = max(self.reports, 1)
        out: dict[str, float] = {
            "reports": self.reports,
            "ingest_cpu_ms": round(1000 * self.ingest_cpu / n, 1),
            "ingest_wall_ms": round(1000 * self.ingest_wall / n, 1),
            "jobs_cpu_ms": round(1000 * self.jobs_cpu / n, 1),
            "jobs_wall_ms": round(1000 * self.jobs_wall / n, 1),
        }
        for part, profiler in self.profilers.items():
            assert self.profile is not None
            profiler.dump_stats(self.profile / f"{self.name}-{part}.prof")
            # Python function calls per report: unlike time, the same on a busy machine as on a quiet one.
            out[f"{part}_python_calls"] = round(pstats.Stats(profiler).total_calls / n)  # type: ignore[attr-defined]
        return out


def _first(fn: Any, *args: Any) -> Any:
    return fn(*args)


def _repeat(fn: Any, *args: Any) -> Any:
    return fn(*args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url")
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--profile", type=Path)
    args = parser.parse_args()

    from fastapi.testclient import TestClient
    from sqlmodel import Session

    from bench.ingest import realistic
    from bench.scratch import scratch_database
    from collector.app import create_app
    from collector.migrate import upgrade
    from collector.models.core import Agent
    from collector.services.ingest import IngestOutcome
    from collector.services.intake import ingest_body
    from collector.services.jobs import run_pending_jobs
    from collector.settings import CollectorSettings
    from tests.helpers import enroll, seed_site

    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.mkdtemp()
    with scratch_database(args.database_url, tmp, "ww_cpu") as url:
        upgrade(url)
        settings = CollectorSettings(
            database_url=url, data_dir=Path(tmp) / "data", job_worker=False, scheduler_enabled=False
        )
        app = create_app(settings)
        engine = app.state.engine
        with TestClient(app) as client:
            secret = seed_site(engine)
            agents = [enroll(client, secret, hostname=f"h{i}") for i in range(args.hosts)]

            def ingest(agent_id: str, body: bytes, body_gz: bytes) -> None:
                with Session(engine) as session:
                    agent = session.get(Agent, agent_id)
                    assert agent is not None
                    answer = ingest_body(session, settings, agent, body, body_gz)
                if not isinstance(answer, IngestOutcome) or answer.status != "accepted":
                    raise SystemExit(f"report refused: {answer}")

            def drain() -> None:
                run_pending_jobs(engine, settings)

            phases = {"first": Phase(args.profile, "first"), "repeat": Phase(args.profile, "repeat")}
            for seq in range(args.repeats + 1):
                phase = phases["first" if seq == 0 else "repeat"]
                bodies = [
                    realistic(a.agent_id, h, seq).model_dump_json().encode() for h, a in enumerate(agents)
                ]
                for agent, body in zip(agents, bodies, strict=True):
                    # As received: the agent's gzip is kept as it came, not made again.
                    phase.timed("ingest", ingest, agent.agent_id, body, gzip.compress(body))
                    phase.timed("jobs", drain)
        engine.dispose()
    out = {
        "backend": "postgresql" if args.database_url else "sqlite",
        "hosts": args.hosts,
        **{name: phase.figures() for name, phase in phases.items()},
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
