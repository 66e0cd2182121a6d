"""Quarantined reports: what a heartbeat says lands on its device, in the API and on the device page."""

from __future__ import annotations

import gzip
import json
import uuid
from datetime import UTC, datetime, timedelta

from collector.db import session_scope
from collector.services.users import create_auth_session, create_user
from inventory.report import HostIdentity, Quarantine, QuarantinedReport, Report, ReportKind, Subject
from tests.helpers import enroll, host_report, post_report, seed_site, user_token

REASON_422 = "report 1b3c: collector refused it (422): [{'loc': ['collected_at'], 'msg': 'bad date'}]"


def _heartbeat(agent_id: str, quarantine: Quarantine | None, *, at: datetime | None = None) -> Report:
    return Report(
        agent_id=agent_id,
        report_id=uuid.uuid4(),
        collected_at=at or datetime.now(UTC),
        kind=ReportKind.HEARTBEAT,
        subject=Subject(
            hostname="pc-01", host=HostIdentity(machine_id="mid-1", serial="SN-1", mac="00:11:22:33:44:55")
        ),
        quarantine=quarantine,
    )


def _note(count: int, *reasons: str) -> Quarantine:
    now = datetime.now(UTC)
    return Quarantine(
        count=count,
        recent=[
            QuarantinedReport(
                report_id=str(uuid.uuid4()), kind="full", subject="host", reason=r, quarantined_at=now
            )
            for r in reasons
        ],
    )


def _web_login(client, engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        user = create_user(session, username="web-tech", password="correct horse battery", role="technician")
        token, _ = create_auth_session(session, user, kind="web", hours=1)
    client.cookies.set("ww_session", token)


def test_a_heartbeat_tells_technicians_which_reports_were_quarantined(client, app):
    agent = enroll(client, seed_site(app.state.engine))
    device_id = post_report(client, agent, host_report(agent.agent_id)).json()["device_id"]
    headers = user_token(client, app.state.engine)
    assert client.get(f"/api/v1/devices/{device_id}", headers=headers).json()["quarantine"] is None

    note = _note(2, REASON_422, "the collector failed on this report 3 times while it accepted others")
    r = post_report(client, agent, _heartbeat(agent.agent_id, note))
    assert r.status_code == 202 and r.json()["device_id"] == device_id

    held = client.get(f"/api/v1/devices/{device_id}", headers=headers).json()["quarantine"]
    assert held["count"] == 2
    assert [q["reason"] for q in held["recent"]] == [REASON_422, note.recent[1].reason]
    assert held["recent"][0]["report_id"] == note.recent[0].report_id and held["recent"][0]["kind"] == "full"

    _web_login(client, app.state.engine)
    page = client.get(f"/devices/{device_id}")
    assert page.status_code == 200
    assert "Báo cáo bị cách ly" in page.text and "3 times while it accepted others" in page.text
    assert note.recent[0].report_id in page.text
    english = client.get(f"/devices/{device_id}", params={"lang": "en"})
    assert "Quarantined reports" in english.text and "Reported by the agent" in english.text


def test_an_older_heartbeat_never_overwrites_a_newer_word_and_zero_clears(client, app):
    agent = enroll(client, seed_site(app.state.engine))
    device_id = post_report(client, agent, host_report(agent.agent_id)).json()["device_id"]
    headers = user_token(client, app.state.engine)
    now = datetime.now(UTC)
    post_report(client, agent, _heartbeat(agent.agent_id, _note(3, "newest"), at=now))
    # A heartbeat held in the agent's memory while its disk was full arrives late.
    post_report(client, agent, _heartbeat(agent.agent_id, _note(1, "older"), at=now - timedelta(minutes=30)))
    held = client.get(f"/api/v1/devices/{device_id}", headers=headers).json()["quarantine"]
    assert held["count"] == 3 and held["recent"][0]["reason"] == "newest"
    post_report(
        client, agent, _heartbeat(agent.agent_id, None, at=now + timedelta(minutes=5))
    )  # says nothing
    assert client.get(f"/api/v1/devices/{device_id}", headers=headers).json()["quarantine"]["count"] == 3
    post_report(
        client, agent, _heartbeat(agent.agent_id, Quarantine(count=0), at=now + timedelta(minutes=10))
    )
    assert client.get(f"/api/v1/devices/{device_id}", headers=headers).json()["quarantine"] is None
    _web_login(client, app.state.engine)
    assert "Báo cáo bị cách ly" not in client.get(f"/devices/{device_id}").text


def test_a_quarantine_note_is_validated_like_the_rest_of_the_report(client, app):
    agent = enroll(client, seed_site(app.state.engine))
    body = _heartbeat(agent.agent_id, _note(1, "x")).model_dump(mode="json")
    body["quarantine"]["recent"][0]["reason"] = "r" * 501
    r = client.post(
        "/api/v1/reports",
        content=gzip.compress(json.dumps(body).encode()),
        headers={**agent.headers, "Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert r.status_code == 422 and "reason" in r.text
