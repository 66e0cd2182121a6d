"""Reports of one site ingested at the same moment by two collectors on one PostgreSQL database.

Before: each ingest locked the site's row FOR UPDATE to write the site's daily snapshot, after its own
inserts had taken the KEY SHARE lock that every row referencing the site takes; two such ingests each
waited for the other's share lock and PostgreSQL killed one (deadlock detected, HTTP 500).
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient

from collector.app import create_app
from tests.helpers import enroll, host_report, post_report, seed_site

AGENTS = 8
REPORTS_EACH = 6


def test_two_collectors_ingesting_one_sites_reports_at_once_never_deadlock(settings: Any) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("row locks and deadlocks are PostgreSQL's; SQLite has one writer at a time")
    apps = [create_app(settings) for _ in range(2)]  # own engines and pools: two processes' worth
    try:
        with (
            TestClient(apps[0], raise_server_exceptions=False) as first,
            TestClient(apps[1], raise_server_exceptions=False) as second,
        ):
            secret = seed_site(apps[0].state.engine, "HN01", "Phường Hoàn Kiếm")
            agents = [enroll(first, secret, hostname=f"pc-{i}") for i in range(AGENTS)]
            barrier = threading.Barrier(AGENTS)
            codes: list[int] = []
            lock = threading.Lock()

            def send(i: int) -> None:
                client = (first, second)[i % 2]
                barrier.wait()
                for _ in range(REPORTS_EACH):
                    report = host_report(
                        agents[i].agent_id,
                        hostname=f"pc-{i}",
                        machine_id=f"mid-{i}",
                        serial=f"SN-{i}",
                        mac=f"00:11:22:33:44:{i:02x}",
                    )
                    code = post_report(client, agents[i], report).status_code
                    with lock:
                        codes.append(code)

            threads = [threading.Thread(target=send, args=(i,)) for i in range(AGENTS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(120)
        assert codes == [202] * (AGENTS * REPORTS_EACH)
    finally:
        for app in apps:
            app.state.engine.dispose()
