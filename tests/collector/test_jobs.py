"""The job queue held in the database: claims, exactly-once work, dedupe, retries; and the report's
request path queues the slow derived work instead of doing it."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from collector.models.assets import DeviceScore
from collector.models.jobs import Job
from collector.models.types import utcnow
from collector.services import jobs
from collector.settings import CollectorSettings
from inventory.facts import SoftwareFacts
from inventory.report import CheckResult, CheckStatus
from tests.collector.support import ww
from tests.helpers import drain_jobs, enroll, host_report, seed_site


def _queue(engine, n: int, kind: str = "test.record") -> list[int]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        for i in range(n):
            jobs.enqueue(s, kind, {"i": i})
        s.commit()
        return sorted(s.exec(select(Job.id)).all())  # type: ignore[arg-type]


def _pending(engine) -> list[Job]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return list(s.exec(select(Job).order_by(Job.id)).all())  # type: ignore[arg-type]


def test_two_concurrent_workers_run_each_job_exactly_once(app, settings):
    engine = app.state.engine
    done: list[int] = []
    lock = threading.Lock()
    both_working = threading.Barrier(2, timeout=30)

    @jobs.register("test.record")
    def record(session, payload, _settings):  # type: ignore[no-untyped-def]
        with lock:
            done.append(payload["i"])
        time.sleep(0.01)  # long enough that the two workers overlap on every claim

    ids = _queue(engine, 60)
    ran: dict[str, int] = {}

    def work(name: str) -> None:
        both_working.wait()
        ran[name] = jobs.run_pending_jobs(engine, settings, worker=name, wait_for_claimed=False)

    threads = [threading.Thread(target=work, args=(f"w{i}",), name=f"w{i}") for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(done) == list(range(60))  # every job once: none twice, none lost
    assert ran["w0"] + ran["w1"] == len(ids) == 60
    assert ran["w0"] > 0 and ran["w1"] > 0  # both claimed, they did not just take turns at the start
    assert _pending(engine) == []


def test_a_pending_job_per_device_is_queued_once_with_the_newest_payload(app):
    engine = app.state.engine
    with Session(engine) as s:
        for i in range(100):
            jobs.enqueue(s, "test.dedupe", {"n": i}, dedupe_key="dev:7")
        jobs.enqueue(s, "test.dedupe", {"n": 0}, dedupe_key="dev:8")
        s.commit()
    rows = _pending(engine)
    assert [(r.dedupe_key, r.payload) for r in rows] == [("dev:7", {"n": 99}), ("dev:8", {"n": 0})]


def test_a_running_job_does_not_swallow_a_newer_request(app, settings):
    """A report arriving while its device's job runs queues anew: the running job read older data."""
    engine = app.state.engine
    queued_while_running: list[int] = []

    @jobs.register("test.slow")
    def slow(session, payload, _settings):  # type: ignore[no-untyped-def]
        if payload["n"] == 1:
            with Session(engine) as other:
                jobs.enqueue(other, "test.slow", {"n": 2}, dedupe_key="dev:1")
                other.commit()
        queued_while_running.append(payload["n"])

    with Session(engine) as s:
        jobs.enqueue(s, "test.slow", {"n": 1}, dedupe_key="dev:1")
        s.commit()
    jobs.run_pending_jobs(engine, settings)
    assert queued_while_running == [1, 2]
    assert _pending(engine) == []


def test_a_failing_job_is_retried_with_backoff_then_recorded_as_failed(app, database_url, tmp_path):
    engine = app.state.engine
    settings = CollectorSettings(database_url=database_url, data_dir=tmp_path / "d", job_max_attempts=2)
    calls: list[int] = []

    @jobs.register("test.fail")
    def fail(session, payload, _settings):  # type: ignore[no-untyped-def]
        calls.append(1)
        raise RuntimeError("the printer is on fire")

    _queue(engine, 1, kind="test.fail")
    assert jobs.run_pending_jobs(engine, settings) == 1
    (job,) = _pending(engine)
    assert job.attempts == 1 and "the printer is on fire" in (job.last_error or "")
    assert job.claimed_at is None and job.failed_at is None
    assert job.run_after > utcnow() + timedelta(seconds=2)  # backed off, not retried at once
    assert jobs.run_pending_jobs(engine, settings) == 0  # not ready yet
    with Session(engine) as s:
        row = s.get(Job, job.id)
        assert row is not None
        row.run_after = utcnow()
        s.add(row)
        s.commit()
    assert jobs.run_pending_jobs(engine, settings) == 1
    (job,) = _pending(engine)
    assert job.attempts == 2 and job.failed_at is not None and len(calls) == 2
    assert jobs.run_pending_jobs(engine, settings) == 0  # given up: kept for an administrator
    with Session(engine) as s:
        stats = jobs.queue_stats(s)
        assert (stats.depth, stats.failed) == (0, 1)


def test_a_claim_whose_worker_died_is_taken_again_after_the_lease(app, settings):
    engine = app.state.engine
    done: list[str] = []

    @jobs.register("test.lease")
    def lease(session, payload, _settings):  # type: ignore[no-untyped-def]
        done.append("x")

    _queue(engine, 1, kind="test.lease")
    assert jobs.claim(engine, "dead-worker", lease_seconds=settings.job_lease_seconds) is not None
    assert jobs.run_pending_jobs(engine, settings, wait_for_claimed=False) == 0 and done == []
    with Session(engine) as s:
        (row,) = s.exec(select(Job)).all()
        row.claimed_at = utcnow() - timedelta(seconds=settings.job_lease_seconds + 1)
        s.add(row)
        s.commit()
    assert jobs.run_pending_jobs(engine, settings) == 1 and done == ["x"]


@pytest.fixture
def settings_no_worker(database_url, tmp_path):  # type: ignore[no-untyped-def]
    return CollectorSettings(database_url=database_url, data_dir=tmp_path / "data", job_worker=False)


def test_the_report_is_answered_before_scoring_and_matching_which_the_queue_does(settings_no_worker):
    from fastapi.testclient import TestClient

    from collector.app import create_app

    app = create_app(settings_no_worker)
    try:
        with TestClient(app) as client:
            engine = app.state.engine
            agent = enroll(client, seed_site(engine))
            report = host_report(
                agent.agent_id,
                software=[SoftwareFacts(name="Mozilla Firefox", version="115.0")],
                results=[CheckResult(check_id="host.firewall_enabled", status=CheckStatus.FAIL)],
            )
            body = report.model_dump_json().encode()
            r = client.post(
                "/api/v1/reports", content=body, headers={**agent.headers, "Content-Type": "application/json"}
            )
            assert r.status_code == 202
            device_id = r.json()["device_id"]
            with Session(engine) as s:
                assert s.get(DeviceScore, device_id) is None  # not scored on the request path
                kinds = sorted(j.kind for j in s.exec(select(Job)).all())
                assert kinds == ["device.score", "device.vulns", "site.snapshot"]
            assert drain_jobs(client) == 3
            with Session(engine) as s:
                assert s.get(DeviceScore, device_id) is not None
                assert s.exec(select(func.count()).select_from(Job)).one() == 0
    finally:
        app.state.engine.dispose()


def test_the_app_worker_does_the_queued_work_by_itself(client, app):
    agent = enroll(client, seed_site(app.state.engine))
    report = host_report(agent.agent_id)
    headers = {**agent.headers, "Content-Type": "application/json"}
    r = client.post("/api/v1/reports", content=report.model_dump_json().encode(), headers=headers)
    device_id = r.json()["device_id"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with Session(app.state.engine) as s:
            if s.get(DeviceScore, device_id) is not None and not s.exec(select(Job)).all():
                break
        time.sleep(0.05)
    else:
        pytest.fail("the lifespan's worker did not score the device")


def test_the_cli_runs_pending_jobs(app, database_url):
    engine = app.state.engine
    with Session(engine) as s:
        s.add(Job(kind="device.score", payload={"device_id": 999_999}, dedupe_key="device.score:999999"))
        s.commit()
    out = ww("jobs", "run-pending", "--database-url", database_url)
    assert out.returncode == 0, out.stderr
    assert "ran 1 jobs; 0 waiting" in out.stdout
    assert _pending(engine) == []


def test_ready_jobs_of_a_batchable_kind_are_done_together_and_one_by_one_if_the_batch_fails(app, settings):
    engine = app.state.engine
    batches: list[list[int]] = []
    singles: list[int] = []

    @jobs.register("test.batched")
    def one(session, payload, _settings):  # type: ignore[no-untyped-def]
        if payload["i"] == 3:
            raise RuntimeError("device 3 is broken")
        singles.append(payload["i"])

    @jobs.register_batch("test.batched")
    def many(session, payloads, _settings):  # type: ignore[no-untyped-def]
        batches.append([p["i"] for p in payloads])
        if any(p["i"] == 3 for p in payloads):
            raise RuntimeError("device 3 is broken")

    _queue(engine, 5, kind="test.batched")
    assert jobs.run_pending_jobs(engine, settings) == 5
    # One claim took the five; the batch failed on one job, so each was done on its own and only
    # the broken one is kept for a retry, its failure recorded.
    assert batches == [[0, 1, 2, 3, 4]] and singles == [0, 1, 2, 4]
    rows = _pending(engine)
    assert [r.payload for r in rows] == [{"i": 3}] and "device 3 is broken" in (rows[0].last_error or "")

    batches.clear()
    _queue(engine, 3, kind="test.batched")
    with Session(engine) as s:  # the failed one waits for its backoff: not part of the next batch
        assert len(s.exec(select(Job)).all()) == 4
    assert jobs.run_pending_jobs(engine, settings) == 3
    assert batches == [[0, 1, 2]]


def test_a_site_snapshot_waits_for_the_sites_other_reports_but_a_drain_does_not_wait(settings_no_worker):
    from fastapi.testclient import TestClient

    from collector.app import create_app
    from collector.models.snapshots import SiteDaily

    app = create_app(settings_no_worker)
    try:
        with TestClient(app) as client:
            engine = app.state.engine
            secret = seed_site(engine)
            headers = []
            for n in range(3):
                agent = enroll(client, secret, hostname=f"pc-{n}")
                report = host_report(agent.agent_id, hostname=f"pc-{n}", machine_id=f"m-{n}", serial=f"S-{n}")
                r = client.post(
                    "/api/v1/reports",
                    content=report.model_dump_json().encode(),
                    headers={**agent.headers, "Content-Type": "application/json"},
                )
                assert r.status_code == 202
                headers.append(agent)
            with Session(engine) as s:
                snapshots = s.exec(select(Job).where(Job.kind == "site.snapshot")).all()
                # Three reports of the site, one pending count of it, due a few seconds later.
                assert len(snapshots) == 1
                assert snapshots[0].run_after > utcnow() + timedelta(seconds=2)
            # The worker's pass does what is due (the scores) and leaves the snapshot for later.
            while jobs.run_batch(engine, settings_no_worker, "worker"):
                pass
            with Session(engine) as s:
                assert [j.kind for j in s.exec(select(Job)).all()] == ["site.snapshot"]
                assert s.exec(select(SiteDaily)).all() == []
            drain_jobs(client)  # a drain does not wait: the figures are there at once
            with Session(engine) as s:
                (daily,) = s.exec(select(SiteDaily)).all()
                assert daily.devices == 3
                assert s.exec(select(Job)).all() == []
    finally:
        app.state.engine.dispose()


def test_jobs_queued_in_a_buffered_block_are_written_once_at_its_end(app):
    engine = app.state.engine
    with Session(engine) as s:
        jobs.enqueue(s, "test.buffer", {"n": 0}, dedupe_key="dev:2", replace_payload=False)
        s.commit()
    with Session(engine) as s:
        with jobs.buffered(s):
            jobs.enqueue(s, "test.buffer", {"n": 1}, dedupe_key="dev:1")
            jobs.enqueue(s, "test.buffer", {"n": 2}, dedupe_key="dev:1")  # replaces: the later payload
            jobs.enqueue(s, "test.buffer", {"n": 3}, dedupe_key="dev:2", replace_payload=False)
            jobs.enqueue(s, "test.buffer", {"n": 4})
            assert s.exec(select(func.count()).select_from(Job)).one() == 1  # nothing written yet
        s.commit()
    rows = _pending(engine)
    assert sorted((r.dedupe_key or "", r.payload["n"]) for r in rows) == [("", 4), ("dev:1", 2), ("dev:2", 0)]


def test_a_worker_woken_by_reports_does_the_jobs_they_queue_meanwhile_as_one_batch(app, settings):
    engine = app.state.engine
    batches: list[list[int]] = []

    @jobs.register("test.gathered")
    def one(session, payload, _settings):  # type: ignore[no-untyped-def]
        batches.append([payload["i"]])

    @jobs.register_batch("test.gathered")
    def many(session, payloads, _settings):  # type: ignore[no-untyped-def]
        batches.append([p["i"] for p in payloads])

    worker = jobs.Worker(
        engine, settings.model_copy(update={"job_gather_seconds": 2.0, "job_poll_seconds": 60})
    )
    worker.start()
    try:
        time.sleep(0.3)  # its first pass found nothing; it waits for a wake
        for i in range(3):  # three reports, each waking it as the ingest does
            _queue_one(engine, i)
            worker.wake()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _pending(engine):
            time.sleep(0.05)
    finally:
        worker.stop()
    assert _pending(engine) == []
    # The jobs of the reports that came within the gather time were claimed together.
    assert batches == [[0, 1, 2]]


def _queue_one(engine, i: int) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        jobs.enqueue(s, "test.gathered", {"i": i})
        s.commit()
