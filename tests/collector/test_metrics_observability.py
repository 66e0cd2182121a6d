"""/metrics: ingest latency histogram, job queue depth and age, database pool use, refusals by reason."""

from __future__ import annotations

import gzip
import re
import time
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from collector.app import create_app
from collector.services import jobs
from collector.settings import CollectorSettings
from inventory.report import ReportKind
from tests.helpers import enroll, host_report, post_report, seed_site, user_token


def _value(text: str, series: str) -> float:
    m = re.search(rf"^{re.escape(series)} (\S+)$", text, re.M)
    assert m, f"{series} missing from /metrics"
    return float(m.group(1))


@pytest.fixture
def quiet(database_url, tmp_path):  # type: ignore[no-untyped-def]
    app = create_app(CollectorSettings(database_url=database_url, data_dir=tmp_path / "d", job_worker=False))
    with TestClient(app) as c:
        yield c
    app.state.engine.dispose()


def _admin(client) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return user_token(client, client.app.state.engine, username="root", role="admin")


def test_ingest_latency_histogram_counts_each_stored_report(quiet):
    admin = _admin(quiet)
    text = quiet.get("/metrics", headers=admin).text
    assert "# TYPE wardwatch_ingest_seconds histogram" in text
    assert _value(text, "wardwatch_ingest_seconds_count") == 0
    agent = enroll(quiet, seed_site(quiet.app.state.engine))
    for _ in range(3):
        assert post_report(quiet, agent, host_report(agent.agent_id)).status_code == 202
    text = quiet.get("/metrics", headers=admin).text
    assert _value(text, "wardwatch_ingest_seconds_count") == 3
    assert _value(text, 'wardwatch_ingest_seconds_bucket{le="+Inf"}') == 3
    assert 0 < _value(text, "wardwatch_ingest_seconds_sum") < 60
    buckets = [
        float(v) for v in re.findall(r'^wardwatch_ingest_seconds_bucket\{le="[^"]+"\} (\S+)$', text, re.M)
    ]
    assert buckets == sorted(buckets)  # cumulative


def test_job_queue_depth_and_oldest_age(quiet):
    admin = _admin(quiet)
    engine = quiet.app.state.engine
    text = quiet.get("/metrics", headers=admin).text
    assert _value(text, "wardwatch_jobs_queued") == 0
    assert _value(text, "wardwatch_jobs_oldest_age_seconds") == 0
    with Session(engine) as s:
        jobs.enqueue(s, "test.noop", {})
        jobs.enqueue(s, "test.noop", {})
        s.commit()
    time.sleep(1.1)
    text = quiet.get("/metrics", headers=admin).text
    assert _value(text, "wardwatch_jobs_queued") == 2
    assert _value(text, "wardwatch_jobs_oldest_age_seconds") >= 1.0

    jobs.register("test.noop")(lambda session, payload, settings: None)
    assert jobs.run_pending_jobs(engine, quiet.app.state.settings) == 2
    text = quiet.get("/metrics", headers=admin).text
    assert _value(text, "wardwatch_jobs_queued") == 0
    assert _value(text, "wardwatch_jobs_oldest_age_seconds") == 0


def test_database_pool_use(quiet):
    admin = _admin(quiet)
    engine = quiet.app.state.engine
    idle = _value(quiet.get("/metrics", headers=admin).text, "wardwatch_db_pool_checked_out")
    held = [engine.connect() for _ in range(2)]
    try:
        text = quiet.get("/metrics", headers=admin).text
        assert _value(text, "wardwatch_db_pool_checked_out") == idle + 2
        assert _value(text, "wardwatch_db_pool_size") == engine.pool.size() > 0
    finally:
        for c in held:
            c.close()
    assert _value(quiet.get("/metrics", headers=admin).text, "wardwatch_db_pool_checked_out") == idle


def test_reports_refused_by_reason(quiet):
    admin = _admin(quiet)
    agent = enroll(quiet, seed_site(quiet.app.state.engine))
    headers = {**agent.headers, "Content-Type": "application/json"}
    quiet.post("/api/v1/reports", content=b"{", headers=headers)  # malformed
    quiet.post("/api/v1/reports", content=b'{"agent_id": 1}', headers=headers)  # invalid
    quiet.post(
        "/api/v1/reports", content=b"not gzip", headers={**headers, "Content-Encoding": "gzip"}
    )  # malformed gzip
    quiet.post("/api/v1/reports", content=b"{}", headers={**headers, "Content-Encoding": "br"})
    other = host_report("someone-else")
    quiet.post("/api/v1/reports", content=other.model_dump_json().encode(), headers=headers)  # forbidden
    big = gzip.compress(b" " * (quiet.app.state.settings.max_report_bytes + 10) + b"{}")
    quiet.post("/api/v1/reports", content=big, headers={**headers, "Content-Encoding": "gzip"})
    delta = host_report(agent.agent_id, kind=ReportKind.DELTA).model_copy(
        update={"base_report_id": uuid.UUID("00000000-0000-4000-8000-000000000000")}
    )
    r = quiet.post("/api/v1/reports", content=delta.model_dump_json().encode(), headers=headers)
    assert r.status_code == 409
    text = quiet.get("/metrics", headers=admin).text
    assert "# TYPE wardwatch_reports_refused_total counter" in text
    got = {
        reason: _value(text, f'wardwatch_reports_refused_total{{reason="{reason}"}}')
        for reason in ("malformed", "invalid", "forbidden", "too_large", "unsupported_encoding", "needs_full")
    }
    assert got == {
        "malformed": 2,
        "invalid": 1,
        "forbidden": 1,
        "too_large": 1,
        "unsupported_encoding": 1,
        "needs_full": 1,
    }


def test_reports_waiting_for_an_ingest_slot_hold_no_database_connection(database_url, tmp_path, monkeypatch):
    """Six agents at once, one ingest slot, a pool of two connections: before, every report waiting
    for the slot held a connection and the others got 500 after the pool's timeout."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    from collector.db import make_engine
    from collector.services import intake as route
    from tests.helpers import LiveServer

    settings = CollectorSettings(
        database_url=database_url,
        data_dir=tmp_path / "d",
        job_worker=False,
        ingest_concurrency=1,
        ingest_inline_concurrency=1,
    )
    engine = make_engine(database_url, pool_size=2, max_overflow=0, pool_timeout=2)
    app = create_app(settings, engine=engine)
    real = route.ingest_report

    def slow_ingest(*args, **kwargs):  # type: ignore[no-untyped-def]
        time.sleep(0.5)  # the slot stays taken long enough for the others to queue behind it
        return real(*args, **kwargs)

    monkeypatch.setattr(route, "ingest_report", slow_ingest)
    try:
        with TestClient(app) as client:
            secret = seed_site(engine)
            agents = [enroll(client, secret, hostname=f"pc-{i}") for i in range(6)]
        reports = [
            host_report(
                a.agent_id, hostname=f"pc-{i}", machine_id=f"m{i}", serial=f"S{i}", mac=f"00:00:00:00:00:0{i}"
            )
            for i, a in enumerate(agents)
        ]
        with LiveServer(app) as url:

            def send(i: int) -> int:
                body = reports[i].model_dump_json().encode()
                headers = {**agents[i].headers, "Content-Type": "application/json"}
                return httpx.post(
                    f"{url}/api/v1/reports", content=body, headers=headers, timeout=60
                ).status_code

            with ThreadPoolExecutor(6) as pool:
                codes = list(pool.map(send, range(6)))
        assert codes == [202] * 6
    finally:
        engine.dispose()
