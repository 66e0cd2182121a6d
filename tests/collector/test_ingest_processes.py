"""Reports stored in an ingest process (``ingest_processes = 1``, a real collector's default).

A report stored there is stored exactly as one ingested in a thread of the serving process, and every
refusal is answered alike; the derived jobs are done there (the serving process runs no job worker);
an ingest process that dies mid-report costs that report one 503 with Retry-After (the agent sends it
again and it is stored once), and one that dies while idle is replaced without a report being refused.
Each test serves its app with uvicorn (tests.helpers.LiveServer): the ingest process is a real one.
"""

from __future__ import annotations

import gzip
import multiprocessing
import os
import signal
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlmodel import Session, col

from collector.models.assets import DeviceScore
from collector.models.core import Device, RawReport
from collector.services.enrollment import revoke_agent
from collector.services.jobs import queue_stats
from inventory.facts import SoftwareFacts
from inventory.report import CheckResult, CheckStatus, ReportKind
from tests.collector.ingest_child import HeldIngest, process_app, stop_ingest_processes, wait_for
from tests.helpers import (
    EnrolledAgent,
    LiveServer,
    drain_jobs,
    enroll,
    host_report,
    post_report,
    seed_site,
    user_token,
)


@pytest.fixture(autouse=True)
def _no_ingest_process_left() -> Iterator[None]:
    """Every ingest process a test started has ended when it ends (tests.collector.ingest_child)."""
    yield
    stop_ingest_processes()


# Fields of a device that name it or tell when it reported, not what it reported.
IDENTITY = {"id", "hostname", "serial", "machine_id", "agent_id", "name", "macs", "mac"}


def _report(agent: EnrolledAgent, n: int, **extra: Any) -> Any:
    results = [
        CheckResult(check_id="host.firewall_enabled", status=CheckStatus.FAIL, evidence="ufw inactive"),
        CheckResult(check_id="host.disk.free_space", status=CheckStatus.PASS, evidence="40% used"),
        CheckResult(check_id="host.no.such.check", status=CheckStatus.FAIL, evidence="unknown to us"),
    ]
    return host_report(
        agent.agent_id,
        hostname=f"pc-{n}",
        machine_id=f"mid-{n}",
        serial=f"SN-{n}",
        mac=f"00:11:22:33:44:{n:02x}",
        results=results,
        **extra,
    )


def _send(url: str, agent: EnrolledAgent, body: bytes, *, gzipped: bool = True) -> httpx.Response:
    headers = {**agent.headers, "Content-Type": "application/json"}
    if gzipped:
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    return httpx.post(f"{url}/api/v1/reports", content=body, headers=headers, timeout=120)


def _jobs_done(engine: Any) -> bool:
    with Session(engine) as s:
        return queue_stats(s).depth == 0


def _normalised(value: Any) -> Any:
    """The device's answer without what names it or dates it."""
    if isinstance(value, dict):
        return {
            k: _normalised(v)
            for k, v in value.items()
            if k not in IDENTITY and not k.endswith(("_at", "_id", "_ids")) and k != "report_id"
        }
    if isinstance(value, list):
        return sorted((_normalised(v) for v in value), key=repr)
    return value


def _device_view(client: Any, admin: dict[str, str], device_id: int) -> Any:
    device = client.get(f"/api/v1/devices/{device_id}", headers=admin)
    findings = client.get(f"/api/v1/findings?device={device_id}", headers=admin)
    assert device.status_code == 200 and findings.status_code == 200
    return _normalised(device.json()), _normalised(findings.json())


def test_a_report_is_stored_and_refused_exactly_as_in_a_thread(app, client, settings):
    secret = seed_site(app.state.engine)
    admin = user_token(client, app.state.engine, username="boss", role="admin")
    in_thread = enroll(client, secret, hostname="pc-thread")
    stored_in_thread = post_report(client, in_thread, _report(in_thread, 1))  # drains the jobs
    assert stored_in_thread.status_code == 202, stored_in_thread.text

    served = process_app(settings)
    with LiveServer(served) as url:
        agent = enroll(httpx.Client(base_url=url), secret, hostname="pc-process")
        answer = _send(url, agent, _report(agent, 2).model_dump_json().encode())
        assert answer.status_code == 202, answer.text
        assert answer.json()["status"] == "accepted"
        # Nobody drains here: the ingest process's job worker does the derived work (the score).
        assert not hasattr(served.state, "job_worker")
        wait_for(lambda: _jobs_done(app.state.engine), what="the derived jobs")

        # Each refusal is answered alike: status, body and the needs_full flag.
        refusals = {
            "not json": (b"{not json", True),
            "unknown schema": (b'{"schema_version": 999}', True),
            "invalid": (b'{"schema_version": 1, "agent_id": 5}', False),
            "another agent": (_report(in_thread, 4).model_dump_json().encode(), True),
            "unknown base": (
                _report(agent, 5, kind=ReportKind.DELTA)
                .model_copy(update={"base_report_id": uuid.UUID(int=1)})
                .model_dump_json()
                .encode(),
                True,
            ),
        }
        for what, (body, gzipped) in refusals.items():
            by_process = _send(url, agent, body, gzipped=gzipped)
            headers = {**agent.headers, "Content-Type": "application/json"}
            raw = gzip.compress(body) if gzipped else body
            if gzipped:
                headers["Content-Encoding"] = "gzip"
            by_thread = client.post("/api/v1/reports", content=raw, headers=headers)
            answers = [(a.status_code, a.json()) for a in (by_process, by_thread)]
            assert answers[0] == answers[1], what
            assert by_process.status_code in (400, 403, 409, 422), what
        metrics = httpx.get(f"{url}/metrics", headers=admin).text
    drain_jobs(client)

    device_thread = stored_in_thread.json()["device_id"]
    device_process = answer.json()["device_id"]
    assert device_thread != device_process
    assert _device_view(client, admin, device_process) == _device_view(client, admin, device_thread)
    scores = _scores(app.state.engine)
    assert scores["pc-2"] is not None and scores["pc-2"] == scores["pc-1"]
    assert 'wardwatch_reports_total{outcome="accepted"} 1' in metrics
    assert 'wardwatch_reports_total{outcome="needs_full"} 1' in metrics


def _scores(engine: Any) -> dict[str, Any]:
    """Each device's replacement score (a derived job's work), by hostname; None: not scored."""
    q = select(Device.hostname, DeviceScore.score).join(
        DeviceScore, col(DeviceScore.device_id) == col(Device.id), isouter=True
    )
    with Session(engine) as s:
        return {hostname: score for hostname, score in s.execute(q).all()}


def _raw_reports(engine: Any, report_id: str) -> int:
    with Session(engine) as s:
        q = select(func.count()).select_from(RawReport).where(col(RawReport.report_id) == report_id)
        return int(s.execute(q).scalar_one())


def test_an_ingest_process_killed_mid_report_costs_one_retry(app, client, settings, tmp_path):
    secret = seed_site(app.state.engine)
    served = process_app(settings)
    held = HeldIngest(served, tmp_path / "hold")
    with LiveServer(served) as url:
        agent = enroll(httpx.Client(base_url=url), secret)
        first_pid = served.state.ingest_pool.pid()
        report = _report(agent, 1)
        body = report.model_dump_json().encode()
        answers: list[httpx.Response] = []
        sender = threading.Thread(target=lambda: answers.append(_send(url, agent, body)))
        sender.start()
        assert held.wait_ingesting(), "the report never reached the ingest process"
        os.kill(first_pid, signal.SIGKILL)  # as the kernel's OOM killer would
        sender.join(60)
        assert answers[0].status_code == 503, answers[0].text
        assert answers[0].headers["Retry-After"] == "2"
        assert httpx.get(f"{url}/healthz").status_code == 200

        held.release()
        retried = _send(url, agent, body)  # the agent sends it again
        assert retried.status_code == 202, retried.text
        assert retried.json()["status"] == "accepted"
        assert served.state.ingest_pool.pid() != first_pid
        assert _send(url, agent, body).json()["status"] == "duplicate"
        wait_for(lambda: _jobs_done(app.state.engine), what="the new ingest process's job worker")
        metrics = httpx.get(
            f"{url}/metrics", headers=user_token(client, app.state.engine, username="boss", role="admin")
        ).text
    assert _raw_reports(app.state.engine, str(report.report_id)) == 1
    assert 'wardwatch_reports_refused_total{reason="unavailable"} 1' in metrics


def test_an_ingest_process_that_dies_idle_is_replaced_without_refusing_a_report(app, client, settings):
    secret = seed_site(app.state.engine)
    served = process_app(settings)
    with LiveServer(served) as url:
        agent = enroll(httpx.Client(base_url=url), secret)
        first_pid = served.state.ingest_pool.pid()
        os.kill(first_pid, signal.SIGKILL)
        # The watch notices within a few seconds and starts another (its job worker with it).
        wait_for(
            lambda: [p for p in multiprocessing.active_children() if p.pid != first_pid and p.is_alive()],
            what="a new ingest process",
        )
        answer = _send(url, agent, _report(agent, 1).model_dump_json().encode())
        assert answer.status_code == 202, answer.text
        wait_for(lambda: _jobs_done(app.state.engine), what="the derived jobs")
        assert _scores(app.state.engine) == {"pc-1": _scores(app.state.engine)["pc-1"]}
        assert _scores(app.state.engine)["pc-1"] is not None


def test_a_small_report_is_stored_beside_a_large_one_held_in_the_ingest_process(
    app, client, settings, tmp_path
):
    """Hourly deltas and heartbeats are stored in the serving process (threads, several at once):
    one large report held in the ingest process does not hold them back, and their derived work is
    still done by the ingest process's job worker."""
    secret = seed_site(app.state.engine)
    served = process_app(settings, ingest_inline_max_bytes=16384)
    held = HeldIngest(served, tmp_path / "hold")
    with LiveServer(served) as url:
        web = httpx.Client(base_url=url)
        large_agent, small_agent = enroll(web, secret, hostname="pc-1"), enroll(web, secret, hostname="pc-2")
        software = [SoftwareFacts(name=f"Package {i}", version="1.0") for i in range(400)]
        large = _report(large_agent, 1, software=software).model_dump_json().encode()
        small = _report(small_agent, 2).model_dump_json().encode()
        assert len(small) <= 16384 < len(large)
        answers: list[httpx.Response] = []
        sender = threading.Thread(target=lambda: answers.append(_send(url, large_agent, large)))
        sender.start()
        try:
            assert held.wait_ingesting(), "the large report never reached the ingest process"
            stored = _send(url, small_agent, small)
            assert stored.status_code == 202, stored.text
            assert stored.json()["status"] == "accepted"
            assert not held.released and not answers  # the large one is still held over there
            assert _send(url, small_agent, small).json()["status"] == "duplicate"
            # Nobody drains: the ingest process's worker, woken by the serving process, scores it.
            wait_for(lambda: _scores(app.state.engine).get("pc-2") is not None, what="the small one's score")
        finally:
            held.release()
            sender.join(60)
        assert answers[0].status_code == 202, answers[0].text
        wait_for(lambda: _jobs_done(app.state.engine), what="the derived jobs")
    scores = _scores(app.state.engine)
    assert scores["pc-1"] is not None and scores["pc-2"] is not None


def test_a_revoked_or_rotated_key_is_refused_at_once_after_stored_reports(app, client, settings):
    """Small reports are stored in the serving process, their key checked in their ingest transaction
    once this process found it valid: a key revoked, or retired by the first use of its rotated
    successor, is refused by the very next report, a large one (for the ingest process) included."""
    secret = seed_site(app.state.engine)
    served = process_app(settings, ingest_inline_max_bytes=16384)
    with LiveServer(served) as url:
        web = httpx.Client(base_url=url)
        revoked, rotating = enroll(web, secret, hostname="pc-1"), enroll(web, secret, hostname="pc-2")
        assert _send(url, revoked, _report(revoked, 1).model_dump_json().encode()).status_code == 202
        with Session(app.state.engine) as s:
            revoke_agent(s, revoked.agent_id, actor="test")
            s.commit()
        # A large report of the same key, which the ingest process would store: refused in the
        # serving process first (its key was verified there before: checked again before the hand-off).
        software = [SoftwareFacts(name=f"Package {i}", version="1.0") for i in range(400)]
        large = _report(revoked, 3, software=software).model_dump_json().encode()
        assert len(large) > 16384
        refused = _send(url, revoked, large)
        assert refused.status_code == 401, refused.text
        assert refused.headers["X-Wardwatch-Agent"] == "revoked"
        refused = _send(url, revoked, _report(revoked, 1).model_dump_json().encode())
        assert refused.status_code == 401, refused.text
        assert refused.headers["X-Wardwatch-Agent"] == "revoked"

        assert _send(url, rotating, _report(rotating, 2).model_dump_json().encode()).status_code == 202
        new_key = web.post("/api/v1/agents/rotate-key", headers=rotating.headers).json()["agent_key"]
        renewed = EnrolledAgent(rotating.agent_id, new_key, rotating.site)
        assert _send(url, renewed, _report(renewed, 2).model_dump_json().encode()).status_code == 202
        retired = _send(url, rotating, _report(rotating, 2).model_dump_json().encode())
        assert retired.status_code == 401 and "unknown agent key" in retired.json()["detail"]
    with Session(app.state.engine) as s:
        stored = s.execute(select(func.count()).select_from(RawReport)).scalar_one()
    assert stored == 3
