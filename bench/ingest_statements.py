"""What one report costs the collector, in statements and time, without HTTP or other processes.

    python bench/ingest_statements.py [--database-url URL] [--reports 100] [--hosts 20]
        [--jobs-every 10]

Builds the collector in this process (TestClient: no worker thread, no scheduler), on a fresh SQLite
file or a fresh database created on the PostgreSQL server of ``--database-url`` (dropped afterwards).
Each host sends the realistic full report of ``bench/ingest.py`` (not counted), then ``--reports``
hourly deltas of the same bench are posted one at a time; every ``--jobs-every`` reports the job
queue is drained, as a worker running that many reports behind would. Prints the SQL statements per
report on the request path and in the derived jobs, and the milliseconds of each per report.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url")
    parser.add_argument("--reports", type=int, default=100)
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--jobs-every", type=int, default=10)
    args = parser.parse_args()

    from fastapi.testclient import TestClient
    from sqlalchemy import event

    from bench.ingest import delta_report, realistic
    from bench.scratch import scratch_database
    from collector.app import create_app
    from collector.migrate import upgrade
    from collector.services.jobs import run_pending_jobs
    from collector.settings import CollectorSettings
    from tests.helpers import enroll, seed_site

    tmp = tempfile.mkdtemp()
    with scratch_database(args.database_url, tmp, "ww_stmts") as url:
        upgrade(url)
        settings = CollectorSettings(
            database_url=url, data_dir=Path(tmp) / "data", job_worker=False, scheduler_enabled=False
        )
        app = create_app(settings)
        engine = app.state.engine
        statements = [0]

        def count(*_args: Any) -> None:
            statements[0] += 1

        event.listen(engine, "before_cursor_execute", count)
        headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
        with TestClient(app) as client:
            secret = seed_site(engine)
            agents = [enroll(client, secret, hostname=f"h{i}") for i in range(args.hosts)]
            firsts = [realistic(a.agent_id, i, 0) for i, a in enumerate(agents)]
            for agent, report in zip(agents, firsts, strict=True):
                body = gzip.compress(report.model_dump_json().encode())
                client.post("/api/v1/reports", content=body, headers={**agent.headers, **headers})
            run_pending_jobs(engine, settings)
            bodies = [
                (agents[i % args.hosts], delta_report(agents[i % args.hosts].agent_id, i % args.hosts,
                 1 + i // args.hosts, firsts[i % args.hosts]))
                for i in range(args.reports)
            ]  # fmt: skip
            request_s = jobs_s = 0.0
            request_n = jobs_n = ran = 0

            def drain() -> None:
                nonlocal jobs_s, jobs_n, ran
                n0, t0 = statements[0], time.perf_counter()
                ran += run_pending_jobs(engine, settings)
                jobs_s += time.perf_counter() - t0
                jobs_n += statements[0] - n0

            for k, (agent, body) in enumerate(bodies):
                if args.jobs_every and k and k % args.jobs_every == 0:
                    drain()
                n0, t0 = statements[0], time.perf_counter()
                r = client.post("/api/v1/reports", content=body, headers={**agent.headers, **headers})
                request_s += time.perf_counter() - t0
                request_n += statements[0] - n0
                if r.status_code != 202:
                    raise SystemExit(f"unexpected answer {r.status_code}: {r.text[:300]}")
            drain()
        engine.dispose()
    n = args.reports
    print(
        json.dumps(
            {
                "backend": "postgresql" if args.database_url else "sqlite",
                "reports": n,
                "hosts": args.hosts,
                "jobs_every": args.jobs_every,
                "request_statements_per_report": round(request_n / n, 1),
                "request_ms_per_report": round(1000 * request_s / n, 1),
                "jobs": ran,
                "job_statements_per_report": round(jobs_n / n, 1),
                "job_ms_per_report": round(1000 * jobs_s / n, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
