"""Moving devices between sites, and creating, renaming and merging sites (issue 13 part 2, issue 17
part 7): everything goes through the one move service. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select

from collector.db import make_engine, session_scope
from collector.models.core import Agent, AuditEvent, Device, EnrollSecret, Site, User, UserSite
from collector.models.findings import Finding
from collector.models.inspections import Inspection
from collector.models.lan import LanHost
from collector.models.netdevices import ManagedNetDevice
from collector.models.snapshots import SiteDaily
from collector.services import moves
from inventory.report import CheckResult, CheckStatus, NetworkDeviceIdentity, Report, Subject, utcnow
from tests.collector.support import CommandRun, ww
from tests.helpers import enroll, host_report, post_report, seed_site, user_token

FAIL = [CheckResult(check_id="host.custom.a", status=CheckStatus.FAIL, evidence="x")]


def _site_id(engine, code: str) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return s.exec(select(Site.id).where(Site.code == code)).one()


def test_every_table_that_names_a_device_and_a_site_follows_the_device_or_is_listed_as_staying():
    """A table added later with a device and a site column moves with its device unless listed here."""
    following = {t.name for t, _d, _s in moves.device_following_tables()}
    assert following == {
        "finding",
        "device_certificate",
        "device_tls_endpoint",
        "device_signed_document",
        "change_event",
        "device_software",
        "device_address",
        "vuln_hit",
        "vuln_unmapped",
        "device_score_current",  # the stored ranking row: a scoped ranking finds the device in its new site
    }
    assert {"lan_scan", "lan_host", "identity_conflict"} == moves.STAY_WITH_SITE


def test_an_admin_moves_a_device_with_its_findings_and_the_agent_follows(client, app):
    engine = app.state.engine
    agent = enroll(client, seed_site(engine, "A01"), "pc-01")
    seed_site(engine, "B01", "Xã B")
    device_id = post_report(client, agent, host_report(agent.agent_id, results=FAIL)).json()["device_id"]
    only_a = user_token(client, engine, username="adm-a", role="admin", sites=["A01"])
    both = user_token(client, engine, username="adm-ab", role="admin", sites=["A01", "B01"])
    viewer_b = user_token(client, engine, username="view-b", role="viewer", sites=["B01"])

    url = f"/api/v1/devices/{device_id}/move"
    assert client.post(url, json={"site": "B01"}, headers=only_a).status_code == 404  # B is not its site
    assert client.post(url, json={"site": "B01"}, headers=viewer_b).status_code == 403
    r = client.post(url, json={"site": "B01", "reason": "PC chuyển về xã B"}, headers=both)
    assert r.status_code == 200, r.text
    assert r.json() == {"device_id": device_id, "site": "B01", "agents_moved": [agent.agent_id]}
    assert client.post(url, json={"site": "B01"}, headers=both).status_code == 409

    b = _site_id(engine, "B01")
    with Session(engine) as s:
        assert s.get(Device, device_id).site_id == b
        assert {f.site_id for f in s.exec(select(Finding)).all()} == {b}
        assert s.get(Agent, agent.agent_id).site_id == b
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "device.move")).one()
    assert event.actor == "adm-ab" and event.detail["from"] == "A01" and event.detail["to"] == "B01"
    assert event.detail["reason"] == "PC chuyển về xã B"
    # The overview reads today's snapshots: both sites were recorded again by the move.
    with Session(engine) as s:
        today = {d.site_id: d.devices for d in s.exec(select(SiteDaily)).all()}
    assert today == {_site_id(engine, "A01"): 0, b: 1}
    assert client.get(f"/api/v1/devices/{device_id}", headers=viewer_b).status_code == 200
    assert client.get(f"/api/v1/devices/{device_id}", headers=only_a).status_code == 404
    # The agent moved with its PC: its next report updates the device in its new site.
    assert post_report(client, agent, host_report(agent.agent_id)).json()["device_id"] == device_id


def test_a_network_device_does_not_leave_its_pollers_site(client, app):
    engine = app.state.engine
    agent = enroll(client, seed_site(engine, "A01"), "poller")
    seed_site(engine, "B01")
    report = Report(
        agent_id=agent.agent_id,
        collected_at=utcnow(),
        subject=Subject(
            kind="network_device",
            hostname="core",
            device=NetworkDeviceIdentity(name="core", host="10.0.0.1", platform="cisco_ios"),
        ),
    )
    device_id = post_report(client, agent, report).json()["device_id"]
    city = user_token(client, engine, username="city", role="admin")
    r = client.post(f"/api/v1/devices/{device_id}/move", json={"site": "B01"}, headers=city)
    assert r.status_code == 409 and "poller" in r.json()["detail"]


def test_device_move_command(tmp_path: Path, sqlite_url: str):
    from fastapi.testclient import TestClient

    from collector.app import create_app
    from collector.settings import CollectorSettings

    app = create_app(CollectorSettings(database_url=sqlite_url, data_dir=tmp_path / "data"))
    with TestClient(app) as client:
        agent = enroll(client, seed_site(app.state.engine, "A01"), "pc-ketoan")
        seed_site(app.state.engine, "B01")
        device_id = post_report(client, agent, host_report(agent.agent_id, hostname="pc-ketoan")).json()[
            "device_id"
        ]
    app.state.engine.dispose()

    def cli(*args: str) -> CommandRun:
        return ww(*args, "--database-url", sqlite_url)

    done = cli("device", "move", "pc-ketoan", "--site", "B01", "--reason", "sáp nhập")
    assert done.returncode == 0, done.stderr
    assert "moved from site A01 to site B01" in done.stdout
    missing = cli("device", "move", "no-such-pc", "--site", "A01")
    assert missing.returncode == 2 and "no device with id or hostname 'no-such-pc'" in missing.stderr
    back = cli("device", "move", str(device_id), "--site", "A01")
    assert back.returncode == 0, back.stderr
    engine = make_engine(sqlite_url)
    with Session(engine) as s:
        moved = s.exec(select(AuditEvent).where(AuditEvent.action == "device.move")).all()
        assert [(e.actor, e.detail["to"]) for e in moved] == [("cli", "B01"), ("cli", "A01")]
    engine.dispose()


def test_sites_are_created_and_renamed_by_city_admins_only(client, app):
    engine = app.state.engine
    seed_site(engine, "A01", "Phường A")
    city = user_token(client, engine, username="city", role="admin")
    scoped = user_token(client, engine, username="adm-a", role="admin", sites=["A01"])
    body = {"code": "X99", "name": "Xã Mới", "address": "1 Lê Lợi"}
    assert client.post("/api/v1/sites", json=body, headers=scoped).status_code == 403
    assert client.post("/api/v1/sites", json=body, headers=city).status_code == 201
    assert client.post("/api/v1/sites", json=body, headers=city).status_code == 409
    bad = client.post("/api/v1/sites", json={**body, "code": "x y"}, headers=city)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "code"]
    assert client.put("/api/v1/sites/A01", json={"name": "Phường A mới"}, headers=scoped).status_code == 403
    r = client.put("/api/v1/sites/A01", json={"name": "Phường A mới"}, headers=city)
    assert r.status_code == 200 and r.json()["name"] == "Phường A mới"
    assert client.put("/api/v1/sites/NOPE", json={"name": "x"}, headers=city).status_code == 404
    with Session(engine) as s:
        rename = s.exec(select(AuditEvent).where(AuditEvent.action == "site.rename")).one()
    assert rename.detail["before"]["name"] == "Phường A" and rename.detail["after"]["name"] == "Phường A mới"


def test_merging_two_sites_moves_everything_and_deletes_the_absorbed_one(client, app):
    engine = app.state.engine
    a = enroll(client, seed_site(engine, "A01", "Phường A"), "pc-a")
    b = enroll(client, seed_site(engine, "B01", "Xã B"), "pc-b")
    dev_a = post_report(client, a, host_report(a.agent_id, machine_id="m-a", serial="s-a", results=FAIL))
    post_report(client, b, host_report(b.agent_id, machine_id="m-b", serial="s-b", results=FAIL))
    city = user_token(client, engine, username="city", role="admin")
    user_token(client, engine, username="tech-a", sites=["A01"])
    user_token(client, engine, username="tech-ab", sites=["A01", "B01"])
    aid, bid = _site_id(engine, "A01"), _site_id(engine, "B01")
    with session_scope(engine) as s:
        from collector.services.inspections import create_inspection

        create_inspection(
            s, site=s.get(Site, aid), template_key="commune-security", lead_username="", actor="city"
        )
        now = utcnow()
        for site_id in (aid, bid):
            s.add(LanHost(site_id=site_id, key="mac:aa", ip="10.0.0.9", first_seen_at=now, last_seen_at=now))
            s.add(ManagedNetDevice(site_id=site_id, name="core", host="10.0.0.1", username="ww"))
    source_secret = seed_site(engine, "A01")  # a secret of the absorbed site, issued before the merge

    scoped = user_token(client, engine, username="adm-b", role="admin", sites=["B01"])
    body = {"source": "A01", "target": "B01"}
    assert client.post("/api/v1/sites/merge", json=body, headers=scoped).status_code == 403
    same = client.post("/api/v1/sites/merge", json={"source": "B01", "target": "B01"}, headers=city)
    assert same.status_code == 400
    r = client.post("/api/v1/sites/merge", json=body, headers=city)
    assert r.status_code == 200, r.text
    moved = r.json()["moved"]
    assert moved["device"] == 1 and moved["agent"] == 1 and moved["finding"] == 1 and moved["inspection"] == 1
    assert r.json()["renamed_netdevices"] == ["core"]

    with Session(engine) as s:
        assert s.get(Site, aid) is None
        assert {d.site_id for d in s.exec(select(Device)).all()} == {bid}
        assert {f.site_id for f in s.exec(select(Finding)).all()} == {bid}
        assert {x.site_id for x in s.exec(select(Agent)).all()} == {bid}
        assert {i.site_id for i in s.exec(select(Inspection)).all()} == {bid}
        assert {x.site_id for x in s.exec(select(EnrollSecret)).all()} == {bid}
        assert len(s.exec(select(LanHost)).all()) == 1
        assert sorted(m.name for m in s.exec(select(ManagedNetDevice)).all()) == ["core", "core (A01)"]
        scopes = {
            u: sorted(site for site in s.exec(select(UserSite.site_id).where(UserSite.user_id == uid)).all())
            for u, uid in s.exec(select(User.username, User.id)).all()
            if u.startswith("tech")
        }
        audit = s.exec(select(AuditEvent).where(AuditEvent.action == "site.merge")).one()
        device_moves = s.exec(select(AuditEvent).where(AuditEvent.action == "device.move")).all()
    assert scopes == {"tech-a": [bid], "tech-ab": [bid]}
    assert audit.actor == "city" and audit.detail["from"] == "A01" and audit.detail["into"] == "B01"
    assert [e.detail["reason"] for e in device_moves] == ["site A01 merged into B01"]
    # The merged commune's PC keeps reporting to its device; its old secret now enrolls into B01.
    again = post_report(client, a, host_report(a.agent_id, machine_id="m-a", serial="s-a"))
    assert again.json()["device_id"] == dev_a.json()["device_id"]
    assert enroll(client, source_secret, "new-pc").site == "B01"
