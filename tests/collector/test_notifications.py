"""Notifications end to end: events recorded with the change that causes them, fanned out to the
subscribers allowed to see the site, sent through a real SMTP server (STARTTLS, AUTH) and a real HTTP
receiver (HMAC-signed, retried with backoff), time-based events once per threshold, the daily digest
in Vietnamese, several senders sharing the work without sending twice. SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlmodel import Session, select

from collector.app import create_app
from collector.db import session_scope
from collector.models.certificates import DeviceCertificate
from collector.models.core import Agent, User
from collector.models.notifications import NotifyDelivery, NotifyEvent
from collector.services.findings import apply_results
from collector.services.notify_delivery import LEASE
from collector.services.notify_sender import Sender
from inventory.report import CheckResult, CheckStatus
from tests.helpers import enroll, host_report, post_report, seed_site, user_token
from tests.notify_servers import SMTP_PASSWORD, SMTP_USER, Mailbox, smtp_server, webhook_receiver

FAILING = [
    CheckResult(check_id="host.firewall.enabled", status=CheckStatus.FAIL, evidence="Domain profile is off")
]


@pytest.fixture
def mailbox(tmp_path: Path) -> Iterator[Mailbox]:
    with smtp_server(tmp_path) as box:
        yield box


def notify_settings(settings: Any, box: Mailbox | None = None, **extra: Any) -> Any:
    values: dict[str, Any] = {
        "notify_interval_seconds": 0,
        "public_url": "https://wardwatch.hue.gov.vn",
        "notify_retry_base_seconds": 60,
    }
    if box is not None:
        values.update(
            smtp_host=box.host,
            smtp_port=box.port,
            smtp_username=SMTP_USER,
            smtp_password=SecretStr(SMTP_PASSWORD),
            smtp_ca_file=box.ca_file,
            smtp_from="canhbao@wardwatch.hue.gov.vn",
        )
    values.update(extra)
    return settings.model_copy(update=values)


@pytest.fixture
def make_client(settings: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    opened: list[tuple[Any, Any]] = []

    def make(custom: Any) -> Any:
        app = create_app(custom)
        client = TestClient(app)
        client.__enter__()
        opened.append((app, client))
        return client

    yield make
    for app, client in opened:
        client.__exit__(None, None, None)
        app.state.engine.dispose()


def subscribe(client: Any, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    answer = client.post("/api/v1/notifications/subscriptions", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    return answer.json()


def failing_report(
    client: Any, engine: Any, site: str = "P01", host: str = "pc-01", agent: Any = None
) -> int:
    # A PC keeps its agent: a second agent claiming it would be an identity conflict (a new device).
    agent = agent or enroll(client, seed_site(engine, site), host)
    report = host_report(
        agent.agent_id, hostname=host, machine_id=f"m-{host}", serial=f"S-{host}", results=FAILING
    )
    answer = post_report(client, agent, report)
    assert answer.status_code == 202, answer.text
    return int(answer.json()["device_id"])


def test_a_new_high_finding_is_mailed_through_starttls_and_auth_in_vietnamese(settings, mailbox, make_client):
    s = notify_settings(settings, mailbox)
    client = make_client(s)
    engine = client.app.state.engine
    seed_site(engine, "P01")
    seed_site(engine, "P02", "Xã Đông Anh")
    tech = user_token(client, engine)
    subscribe(client, tech, event="finding.opened", channel="email", target="ktv@hue.gov.vn", site="P01")
    # A user who sees only P02 subscribes to every site: P01's finding is not theirs to hear of.
    other = user_token(client, engine, username="p2", role="viewer", sites=["P02"])
    subscribe(client, other, event="finding.opened", channel="email", target="p2@hue.gov.vn")

    agent = enroll(client, seed_site(engine, "P01"), "pc-01")
    device_id = failing_report(client, engine, agent=agent)
    sender = Sender(engine, s)
    result = sender.run_once()
    assert (result.dispatched, result.tried) == (1, 1)
    [msg] = mailbox.wait_for(1)
    assert msg["To"] == "ktv@hue.gov.vn" and mailbox.logins == [SMTP_USER]
    assert msg["Subject"] == "[P01] Phát hiện mới mức Cao trên pc-01: Tường lửa trên máy được bật"
    body = msg.get_content()
    assert "Bằng chứng: Domain profile is off" in body and "Hạn khắc phục:" in body
    assert "https://wardwatch.hue.gov.vn/findings/" in body
    # The same finding seen again is no news; nothing more is sent.
    failing_report(client, engine, agent=agent)
    assert sender.run_once().tried == 0 and len(mailbox.messages) == 1
    assert device_id


def test_an_event_exists_only_if_its_change_committed(settings, make_client):
    client = make_client(notify_settings(settings))
    engine = client.app.state.engine
    device_id = failing_report(client, engine)
    with Session(engine) as session:
        before = len(session.exec(select(NotifyEvent)).all())
        from collector.models.core import Device

        device = session.get(Device, device_id)
        critical = [CheckResult(check_id="host.os.supported", status=CheckStatus.FAIL, evidence="Windows 7")]
        apply_results(session, device=device, results=critical, due_days=settings.due_days)
        session.flush()
        assert len(session.exec(select(NotifyEvent)).all()) == before + 1
        session.rollback()  # the ingest failed after the finding opened
    with Session(engine) as session:
        assert len(session.exec(select(NotifyEvent)).all()) == before


def test_webhook_is_signed_and_retried_with_backoff_until_it_succeeds(settings, make_client):
    s = notify_settings(settings, notify_retry_base_seconds=60)
    client = make_client(s)
    engine = client.app.state.engine
    with webhook_receiver(fail_first=2) as hook:
        tech = user_token(client, engine)
        created = subscribe(client, tech, event="finding.opened", channel="webhook", target=hook.url)
        secret = created["secret"]
        assert secret and len(secret) >= 40
        listed = client.get("/api/v1/notifications/subscriptions", headers=tech).json()
        assert "secret" not in json.dumps(listed)  # shown once, never listed
        failing_report(client, engine)
        sender = Sender(engine, s)
        t0 = datetime.now(UTC)
        sender.run_once(t0)  # 1st try: 500
        sender.run_once(t0 + timedelta(seconds=59))  # not due yet
        assert len(hook.calls) == 1
        sender.run_once(t0 + timedelta(seconds=60))  # 2nd try: 500, next in 120 s
        sender.run_once(t0 + timedelta(seconds=179))
        assert len(hook.calls) == 2
        sender.run_once(t0 + timedelta(seconds=180))  # 3rd try: 200
        sender.run_once(t0 + timedelta(hours=7))
        assert [c[2] for c in hook.calls] == [500, 500, 200]
        for headers, body, _status in hook.calls:
            expected = hmac.new(
                secret.encode(), headers["x-wardwatch-timestamp"].encode() + b"." + body, hashlib.sha256
            )
            assert hmac.compare_digest(headers["x-wardwatch-signature"], "sha256=" + expected.hexdigest())
            assert headers["x-wardwatch-event"] == "finding.opened"
        doc = json.loads(hook.calls[-1][1])
        assert doc["event"] == "finding.opened" and doc["site"]["code"] == "P01"
        assert doc["data"]["severity"] == "high" and doc["url"].startswith(
            "https://wardwatch.hue.gov.vn/findings/"
        )
        # A forged body does not match the signature.
        forged = hmac.new(secret.encode(), b"0." + body.replace(b"high", b"low"), hashlib.sha256).hexdigest()
        assert "sha256=" + forged != hook.calls[-1][0]["x-wardwatch-signature"]

    log = client.get(f"/api/v1/notifications/subscriptions/{created['id']}/deliveries", headers=tech).json()
    [delivery] = log
    assert delivery["status"] == "sent" and delivery["attempts"] == 3
    tries = delivery["log"]
    assert [(a["ok"], a["status_code"]) for a in tries] == [(False, 500), (False, 500), (True, 200)]
    gaps = [
        (datetime.fromisoformat(b["at"]) - datetime.fromisoformat(a["at"])).total_seconds()
        for a, b in zip(tries, tries[1:], strict=False)
    ]
    assert gaps == [60, 120]
    # Nobody else may read this log.
    stranger = user_token(client, engine, username="x", role="technician")
    assert (
        client.get(
            f"/api/v1/notifications/subscriptions/{created['id']}/deliveries", headers=stranger
        ).status_code
        == 404
    )


def test_an_unreachable_receiver_is_given_up_after_the_last_attempt(settings, make_client):
    from tests.helpers import free_port

    s = notify_settings(settings, notify_max_attempts=3, notify_retry_base_seconds=1)
    client = make_client(s)
    engine = client.app.state.engine
    tech = user_token(client, engine)
    sub = subscribe(
        client, tech, event="finding.opened", channel="webhook", target=f"http://127.0.0.1:{free_port()}/x"
    )
    failing_report(client, engine)
    sender = Sender(engine, s)
    t0 = datetime.now(UTC)
    for step in range(6):
        sender.run_once(t0 + timedelta(seconds=10 * step))
    [d] = client.get(f"/api/v1/notifications/subscriptions/{sub['id']}/deliveries", headers=tech).json()
    assert d["status"] == "failed" and d["attempts"] == 3 and "ConnectError" in d["last_error"]


def test_certificates_and_silent_agents_notify_once_per_threshold_in_a_vietnamese_digest(
    settings, mailbox, make_client
):
    s = notify_settings(settings, mailbox, notify_digest_hour=7)
    client = make_client(s)
    engine = client.app.state.engine
    device_id = failing_report(client, engine)
    silent = enroll(client, seed_site(engine, "P01"), "pc-im-lang")
    tech = user_token(client, engine)
    for event in ("certificate.expiring", "agent.silent", "finding.opened"):
        extra = {"days": 3} if event == "agent.silent" else {}
        subscribe(client, tech, event=event, channel="email", target="ktv@hue.gov.vn", digest=True, **extra)
    # 07:00 Vietnam time is 00:00 UTC: start the day at 01:00 UTC (08:00 in Vietnam).
    day0 = datetime.now(UTC).replace(hour=1, minute=0, second=0, microsecond=0) + timedelta(days=1)
    with session_scope(engine) as session:
        session.add(
            DeviceCertificate(
                device_id=device_id,
                site_id=session.get(Agent, silent.agent_id).site_id,
                role="signing",
                sha256="ab" * 32,
                subject="CN=Nguyễn Văn A, O=UBND Phường Bến Nghé",
                subject_cn="Nguyễn Văn A",
                issuer="CN=VNPT Certification Authority",
                serial="5401A1",
                not_before=day0 - timedelta(days=700),
                not_after=day0 + timedelta(days=25, hours=1),
                key_type="RSA",
                signature_algorithm="sha256WithRSAEncryption",
                location_kind="token",
                location_path="slot0",
            )
        )
        agent = session.get(Agent, silent.agent_id)
        agent.enrolled_at = agent.last_seen_at = day0 - timedelta(days=4)
        session.add(agent)
    sender = Sender(engine, s)
    sender.run_once(day0)
    sender.last_scan = None
    sender.run_once(day0 + timedelta(hours=1))  # scanning again finds nothing new
    with Session(engine) as session:
        kinds = sorted(e.kind for e in session.exec(select(NotifyEvent)).all())
    assert kinds == ["agent.silent", "certificate.expiring", "finding.opened"]
    assert mailbox.messages == []  # all wait for the digest

    sender.run_once(day0 + timedelta(hours=23, minutes=1))  # 08:01 the next morning in Vietnam
    [digest] = mailbox.wait_for(1)
    subject, body = digest["Subject"], digest.get_content()
    assert subject.startswith("wardwatch: bản tin hằng ngày") and "3 sự kiện" in subject
    assert "Phường Bến Nghé (P01)" in body
    assert "Chứng thư số Nguyễn Văn A hết hạn sau 25 ngày" in body
    assert "Tác tử trên máy pc-im-lang không gửi báo cáo đã 3 ngày" in body
    assert "Tường lửa trên máy được bật" in body and "Bạn nhận thư này" in body

    # Twenty days later the certificate crosses 7 days: that threshold notifies, once.
    sender.last_scan = None
    sender.run_once(day0 + timedelta(days=20))
    sender.last_scan = None
    sender.run_once(day0 + timedelta(days=20, hours=2))
    with Session(engine) as session:
        certs = session.exec(select(NotifyEvent).where(NotifyEvent.kind == "certificate.expiring")).all()
    assert sorted(e.payload["threshold"] for e in certs) == [7, 30]


def test_several_senders_share_the_work_and_send_each_message_once(settings, make_client):
    from collector.db import make_engine

    s = notify_settings(settings)
    client = make_client(s)
    engine = client.app.state.engine
    with webhook_receiver() as hook:
        tech = user_token(client, engine)
        for _ in range(3):
            subscribe(client, tech, event="finding.opened", channel="webhook", target=hook.url)
        for i in range(8):
            failing_report(client, engine, host=f"pc-{i:02d}")
        # Two "processes": their own engines and connection pools, running rounds at the same time.
        engines = [make_engine(s.database_url) for _ in range(2)]
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def work(e: Any) -> None:
            try:
                barrier.wait()
                sender = Sender(e, s)
                for _ in range(3):
                    sender.run_once()
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(e,)) for e in engines]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        for e in engines:
            e.dispose()
        assert not errors, errors
        ids = [c[0]["x-wardwatch-delivery"] for c in hook.calls]
        assert len(ids) == 24 and len(set(ids)) == 24


def test_a_claim_left_by_a_dead_process_is_taken_over_after_its_lease(settings, make_client):
    s = notify_settings(settings)
    client = make_client(s)
    engine = client.app.state.engine
    with webhook_receiver() as hook:
        tech = user_token(client, engine)
        subscribe(client, tech, event="finding.opened", channel="webhook", target=hook.url)
        failing_report(client, engine)
        t0 = datetime.now(UTC)
        from collector.services.notify_delivery import dispatch_events

        dispatch_events(engine, s, now=t0)
        with session_scope(engine) as session:  # a sender claimed it, then its process died
            d = session.exec(select(NotifyDelivery)).one()
            d.claim_token, d.claimed_until = "dead-process", t0 + LEASE
            session.add(d)
        restarted = Sender(engine, s)
        restarted.run_once(t0 + timedelta(seconds=30))
        assert hook.calls == []
        restarted.run_once(t0 + LEASE + timedelta(seconds=1))
        assert len(hook.calls) == 1


def test_the_background_sender_runs_with_the_app_and_inspections_notify(settings, mailbox):
    from fastapi.testclient import TestClient

    s = notify_settings(settings, mailbox, notify_interval_seconds=0.2)
    app = create_app(s)
    try:
        with TestClient(app) as client:
            engine = app.state.engine
            tech = user_token(client, engine)
            subscribe(client, tech, event="finding.opened", channel="email", target="ktv@hue.gov.vn")
            failing_report(client, engine)
            [msg] = mailbox.wait_for(1)
            assert "Tường lửa" in msg["Subject"]
    finally:
        app.state.engine.dispose()


def test_subscriptions_api_validates_and_scopes(settings, make_client):
    client = make_client(notify_settings(settings))
    engine = client.app.state.engine
    seed_site(engine, "P01")
    seed_site(engine, "P02", "Xã Đông Anh")
    viewer = user_token(client, engine, username="v", role="viewer", sites=["P01"])
    url = "/api/v1/notifications/subscriptions"
    bad_mail = client.post(
        url, json={"event": "finding.opened", "channel": "email", "target": "not-an-address"}, headers=viewer
    )
    assert bad_mail.status_code == 400 and "not an e-mail address" in bad_mail.json()["detail"]
    hook = client.post(
        url,
        json={"event": "finding.opened", "channel": "webhook", "target": "http://10.0.0.5/x"},
        headers=viewer,
    )
    assert hook.status_code == 400 and "only administrators and technicians" in hook.json()["detail"]
    unknown = client.post(
        url, json={"event": "nonsense", "channel": "email", "target": "a@b.vn"}, headers=viewer
    )
    assert unknown.status_code == 400 and "finding.opened" in unknown.json()["detail"]
    other_site = client.post(
        url,
        json={"event": "finding.opened", "channel": "email", "target": "a@b.vn", "site": "P02"},
        headers=viewer,
    )
    assert other_site.status_code == 404
    days = client.post(
        url, json={"event": "agent.silent", "channel": "email", "target": "a@b.vn", "days": 0}, headers=viewer
    )
    assert days.status_code == 400
    mine = subscribe(
        client, viewer, event="agent.silent", channel="email", target="a@b.vn", site="P01", days=5
    )
    assert mine["params"] == {"days": 5} and mine["site"] == "P01" and mine["secret"] is None

    admin = user_token(client, engine, username="boss", role="admin")
    assert client.get(url, headers=admin).json() == []  # an admin's own list
    everyone = client.get(url + "?all=true", headers=admin).json()
    assert [r["username"] for r in everyone] == ["v"]
    scoped_admin = user_token(client, engine, username="boss2", role="admin", sites=["P02"])
    assert client.get(url + "?all=true", headers=scoped_admin).json() == []
    assert client.delete(f"{url}/{mine['id']}", headers=scoped_admin).status_code == 404
    off = client.patch(f"{url}/{mine['id']}", json={"enabled": False}, headers=admin)
    assert off.status_code == 200 and off.json()["enabled"] is False
    assert client.delete(f"{url}/{mine['id']}", headers=viewer).status_code == 204
    assert client.get(url, headers=viewer).json() == []
    types = client.get("/api/v1/notifications/event-types", headers=viewer).json()
    assert {t["key"] for t in types} == {
        "finding.opened",
        "certificate.expiring",
        "disk.failing",
        "agent.silent",
        "inspection.published",
    }
    with Session(engine) as session:
        assert session.exec(select(User).where(User.username == "v")).one()


def test_a_user_who_lost_access_or_was_disabled_is_sent_nothing(settings, make_client):
    from collector.models.core import Site, UserSite

    s = notify_settings(settings)
    client = make_client(s)
    engine = client.app.state.engine
    seed_site(engine, "P01")
    seed_site(engine, "P02", "Xã Đông Anh")
    with webhook_receiver() as hook:
        moved = user_token(client, engine, username="moved", sites=["P01"])
        gone = user_token(client, engine, username="gone")
        subs = [
            subscribe(client, headers, event="finding.opened", channel="webhook", target=hook.url)
            for headers in (moved, gone)
        ]
        failing_report(client, engine)
        from collector.services.notify_delivery import deliver_due, dispatch_events

        now = datetime.now(UTC)
        dispatch_events(engine, s, now=now)  # both were allowed when the event happened
        with session_scope(engine) as session:  # then one moved to another site, the other left
            user = session.exec(select(User).where(User.username == "moved")).one()
            for row in session.exec(select(UserSite).where(UserSite.user_id == user.id)).all():
                session.delete(row)
            p2 = session.exec(select(Site).where(Site.code == "P02")).one()
            session.add(UserSite(user_id=user.id, site_id=p2.id))
            leaver = session.exec(select(User).where(User.username == "gone")).one()
            leaver.disabled = True
            session.add(leaver)
        deliver_due(engine, s, now=now)
        assert hook.calls == []
    with Session(engine) as session:
        statuses = {d.subscription_id: d.status for d in session.exec(select(NotifyDelivery)).all()}
    assert statuses == {subs[0]["id"]: "dropped", subs[1]["id"]: "dropped"}


def test_a_webhook_whose_secret_cannot_be_read_fails_with_a_reason(settings, make_client):
    from collector.models.notifications import NotifySubscription

    s = notify_settings(settings)
    client = make_client(s)
    engine = client.app.state.engine
    with webhook_receiver() as hook:
        tech = user_token(client, engine)
        sub = subscribe(client, tech, event="finding.opened", channel="webhook", target=hook.url)
        with session_scope(engine) as session:  # as after the credential key was replaced
            row = session.get(NotifySubscription, sub["id"])
            row.secret_enc = "gAAAAA-not-a-token"
            session.add(row)
        failing_report(client, engine)
        Sender(engine, s).run_once()
        assert hook.calls == []
    [d] = client.get(f"/api/v1/notifications/subscriptions/{sub['id']}/deliveries", headers=tech).json()
    assert d["status"] == "pending" and d["attempts"] == 1
    assert d["last_error"] == "could not build the message: InvalidToken"
