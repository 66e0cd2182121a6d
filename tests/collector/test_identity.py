"""Devices belong to the agent that reports them and to its site (issue 13, parts 1-4).

Attacks and accidents as they happen: an agent of one commune forging another commune's PC, two real
agents on one PC, a PC re-enrolled into another commune, network devices of another site, a reused
report id. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid

from sqlmodel import Session, select

from collector.models.core import AuditEvent, Device, RawReport
from collector.models.findings import Finding
from collector.models.identity import IdentityConflict
from collector.models.netdevices import ManagedNetDevice
from inventory.facts import Facts, SystemFacts
from inventory.report import (
    CheckResult,
    CheckStatus,
    HostIdentity,
    NetworkDeviceIdentity,
    Report,
    Subject,
    utcnow,
)
from tests.helpers import EnrolledAgent, enroll, host_report, post_report, seed_site, user_token

# Checks of the catalog: results of unknown ids share one finding per device.
FAILING_CHECKS = [
    "host.accounts.admins_limited",
    "host.accounts.builtin_admin_disabled",
    "host.accounts.guest_disabled",
    "host.password.complexity",
    "host.password.history",
    "host.password.lockout",
    "host.password.max_age",
    "host.password.min_length",
    "host.services.no_ftp",
    "host.services.no_smb1",
    "host.services.no_telnet",
]
FAILING = [
    CheckResult(check_id=check, status=CheckStatus.FAIL, evidence=f"bad {i}")
    for i, check in enumerate(FAILING_CHECKS)
]


def _devices(app) -> list[Device]:  # type: ignore[no-untyped-def]
    with Session(app.state.engine) as s:
        return list(s.exec(select(Device).order_by(Device.id)).all())


def _open_findings(app, device_id: int) -> int:  # type: ignore[no-untyped-def]
    with Session(app.state.engine) as s:
        rows = s.exec(select(Finding).where(Finding.device_id == device_id, Finding.status == "open")).all()
        return len(rows)


def _claims(app) -> list[IdentityConflict]:  # type: ignore[no-untyped-def]
    with Session(app.state.engine) as s:
        return list(s.exec(select(IdentityConflict).order_by(IdentityConflict.id)).all())


def _two_sites(client, app) -> tuple[EnrolledAgent, EnrolledAgent]:  # type: ignore[no-untyped-def]
    engine = app.state.engine
    a = enroll(client, seed_site(engine, "A01", "Phường A"), "pc-a")
    b = enroll(client, seed_site(engine, "B01", "Xã B"), "pc-b")
    return a, b


def _bare_report(agent: EnrolledAgent, hostname: str, **ident: str | None) -> Report:
    """What an attacker crafts: a host report with only the identity fields it chose."""
    return Report(
        agent_id=agent.agent_id,
        collected_at=utcnow(),
        subject=Subject(hostname=hostname, host=HostIdentity(**ident)),
        facts=Facts(system=SystemFacts(hostname=hostname)),
    )


def test_a_forged_machine_id_from_another_site_never_touches_that_pc(client, app):
    a, b = _two_sites(client, app)
    victim = host_report(
        b.agent_id, hostname="ubnd-b-ketoan", machine_id="mid-B", serial="SN-B", results=FAILING
    )
    assert post_report(client, b, victim).status_code == 202
    [device] = _devices(app)
    assert _open_findings(app, device.id) == 11

    forged = _bare_report(a, "hacked", machine_id="mid-B")
    r = post_report(client, a, forged)
    assert r.status_code == 202, r.text
    assert r.json()["device_id"] != device.id

    devices = {d.id: d for d in _devices(app)}
    kept = devices[device.id]
    assert kept.hostname == "ubnd-b-ketoan" and kept.agent_id == b.agent_id
    assert _open_findings(app, device.id) == 11
    flagged = devices[r.json()["device_id"]]
    assert flagged.agent_id == a.agent_id and flagged.hostname == "hacked"
    [claim] = _claims(app)
    assert (claim.kind, claim.status, claim.device_id, claim.claimant_device_id) == (
        "conflict",
        "open",
        device.id,
        flagged.id,
    )
    assert flagged.site_id == claim.claimant_site_id != kept.site_id
    with Session(app.state.engine) as s:
        audit = s.exec(select(AuditEvent).where(AuditEvent.action == "identity.conflict")).one()
    assert audit.actor == f"agent:{a.agent_id}" and audit.detail["machine_id"] == "mid-B"

    # Both sites' administrators see it; the claimant's site admin does not learn the victim's device.
    engine = app.state.engine
    admin_b = user_token(client, engine, username="adm-b", role="admin", sites=["B01"])
    admin_a = user_token(client, engine, username="adm-a", role="admin", sites=["A01"])
    seen_b = client.get("/api/v1/identity-conflicts", headers=admin_b).json()
    seen_a = client.get("/api/v1/identity-conflicts", headers=admin_a).json()
    assert seen_b[0]["device"]["hostname"] == "ubnd-b-ketoan" and seen_b[0]["claimant"]["site"] is None
    assert seen_a[0]["device"] == {k: None for k in seen_a[0]["device"]}
    assert seen_a[0]["claimant"]["hostname"] == "hacked" and seen_a[0]["claimed"]["machine_id"] == "mid-B"


def test_two_real_agents_on_one_pc_no_longer_take_the_device_from_each_other(client, app):
    a, b = _two_sites(client, app)
    ids: dict[str, set[int]] = {"a": set(), "b": set()}
    for _ in range(3):
        for name, agent in (("a", a), ("b", b)):
            r = post_report(client, agent, host_report(agent.agent_id, hostname=f"pc-{name}"))
            assert r.status_code == 202, r.text
            ids[name].add(r.json()["device_id"])
    assert len(ids["a"]) == 1 and len(ids["b"]) == 1 and ids["a"] != ids["b"]
    devices = {d.id: d for d in _devices(app)}
    assert devices[ids["a"].pop()].hostname == "pc-a"
    assert devices[ids["b"].pop()].hostname == "pc-b"
    [claim] = _claims(app)  # one claim, raised once; the same identity from another commune
    assert claim.kind == "move" and claim.claimant_agent_id == b.agent_id


def test_two_agents_of_one_site_on_one_pc_make_a_conflict_in_that_site(client, app):
    secret = seed_site(app.state.engine, "A01")
    first, second = enroll(client, secret, "pc"), enroll(client, secret, "pc")
    d1 = post_report(client, first, host_report(first.agent_id)).json()["device_id"]
    d2 = post_report(client, second, host_report(second.agent_id)).json()["device_id"]
    assert d1 != d2
    assert post_report(client, first, host_report(first.agent_id)).json()["device_id"] == d1
    [claim] = _claims(app)
    assert claim.kind == "conflict" and claim.device_site_id == claim.claimant_site_id


def test_cloned_images_enrolled_separately_stay_clones_not_conflicts(client, app):
    secret = seed_site(app.state.engine, "A01")
    a, b = enroll(client, secret, "pc-a"), enroll(client, secret, "pc-b")
    r1 = post_report(
        client, a, host_report(a.agent_id, machine_id="img", serial="S-A", mac="00:00:00:00:00:0a")
    )
    r2 = post_report(
        client, b, host_report(b.agent_id, machine_id="img", serial="S-B", mac="00:00:00:00:00:0b")
    )
    devices = {d.id: d for d in _devices(app)}
    assert devices[r2.json()["device_id"]].clone_of_id == r1.json()["device_id"]
    assert _claims(app) == []


def _reenrolled(client, app):  # type: ignore[no-untyped-def]
    """A PC of site B with findings and history, re-enrolled into site A (the 2025 merger)."""
    engine = app.state.engine
    old = enroll(client, seed_site(engine, "B01", "Xã B"), "pc-01")
    first = host_report(old.agent_id, results=FAILING)
    assert post_report(client, old, first).status_code == 202
    [device] = _devices(app)
    new = enroll(client, seed_site(engine, "A01", "Phường A"), "pc-01")
    r = post_report(client, new, host_report(new.agent_id, results=FAILING[:3]))
    assert r.status_code == 202
    return old, new, device, r.json()["device_id"], str(first.report_id)


def test_re_enrollment_into_another_site_is_a_move_request_approved_by_the_old_sites_admin(client, app):
    old, new, device, flagged_id, first_report = _reenrolled(client, app)
    [claim] = _claims(app)
    assert claim.kind == "move"
    engine = app.state.engine
    admin_a = user_token(client, engine, username="adm-a", role="admin", sites=["A01"])
    admin_b = user_token(client, engine, username="adm-b", role="admin", sites=["B01"])
    viewer_a = user_token(client, engine, username="view-a", role="viewer", sites=["A01"])
    assert client.get(f"/api/v1/devices/{device.id}", headers=viewer_a).status_code == 404
    # Both sites' admins see the request, naming both sites.
    for headers in (admin_a, admin_b):
        [shown] = client.get("/api/v1/identity-conflicts", headers=headers).json()
        assert (shown["kind"], shown["device"]["site"], shown["claimant"]["site"]) == ("move", "B01", "A01")
    # The receiving site cannot take a PC on its own: the site that gives it up approves.
    url = f"/api/v1/identity-conflicts/{claim.id}/resolve"
    refused = client.post(url, json={"action": "merge"}, headers=admin_a)
    assert refused.status_code == 403 and "device's site" in refused.json()["detail"]
    ok = client.post(url, json={"action": "merge", "note": "sáp nhập xã"}, headers=admin_b)
    assert ok.status_code == 200, ok.text
    assert ok.json()["status"] == "merged"

    moved = {d.id: d for d in _devices(app)}
    assert flagged_id not in moved and moved[device.id].agent_id == new.agent_id
    assert client.get(f"/api/v1/devices/{device.id}", headers=viewer_a).json()["site"] == "A01"
    assert client.get(f"/api/v1/devices/{device.id}", headers=admin_b).status_code == 404
    with Session(engine) as s:
        findings = s.exec(select(Finding).where(Finding.device_id == device.id)).all()
        reports = s.exec(select(RawReport).where(RawReport.device_id == device.id)).all()
        audit = s.exec(select(AuditEvent).where(AuditEvent.action == "device.move")).one()
    assert {f.site_id for f in findings} == {moved[device.id].site_id}
    assert sum(f.status == "open" for f in findings) == 3  # the new agent's view: 3 of 11 still fail
    assert first_report in {r.report_id for r in reports} and len(reports) == 2
    assert (audit.actor, audit.detail["from"], audit.detail["to"]) == ("adm-b", "B01", "A01")
    # From now on the new agent's reports update the moved device, its old site sees nothing.
    again = post_report(client, new, host_report(new.agent_id))
    assert again.json()["device_id"] == device.id


def test_re_enrollment_move_refused_keeps_both_devices_where_they_are(client, app):
    old, new, device, flagged_id, _ = _reenrolled(client, app)
    [claim] = _claims(app)
    admin_a = user_token(client, app.state.engine, username="adm-a", role="admin", sites=["A01"])
    r = client.post(
        f"/api/v1/identity-conflicts/{claim.id}/resolve", json={"action": "keep_apart"}, headers=admin_a
    )
    assert r.status_code == 200 and r.json()["status"] == "kept_apart"
    again = client.post(
        f"/api/v1/identity-conflicts/{claim.id}/resolve", json={"action": "merge"}, headers=admin_a
    )
    assert again.status_code == 409
    devices = {d.id: d for d in _devices(app)}
    assert devices[device.id].agent_id == old.agent_id and devices[flagged_id].agent_id == new.agent_id
    assert devices[device.id].site_id != devices[flagged_id].site_id
    assert post_report(client, old, host_report(old.agent_id)).json()["device_id"] == device.id
    assert post_report(client, new, host_report(new.agent_id)).json()["device_id"] == flagged_id
    assert len(_claims(app)) == 1


def test_revoking_the_claiming_agent_stops_it(client, app):
    a, b = _two_sites(client, app)
    post_report(client, b, host_report(b.agent_id, machine_id="mid-B"))
    post_report(client, a, _bare_report(a, "hacked", machine_id="mid-B"))
    [claim] = _claims(app)
    engine = app.state.engine
    admin_b = user_token(client, engine, username="adm-b", role="admin", sites=["B01"])
    city = user_token(client, engine, username="city", role="admin")
    url = f"/api/v1/identity-conflicts/{claim.id}/resolve"
    assert client.post(url, json={"action": "revoke"}, headers=admin_b).status_code == 403
    assert client.post(url, json={"action": "revoke"}, headers=city).json()["status"] == "revoked"
    r = post_report(client, a, _bare_report(a, "hacked", machine_id="mid-B"))
    assert r.status_code == 401
    with Session(engine) as s:
        done = {e.action for e in s.exec(select(AuditEvent)).all()}
    assert {"identity.conflict", "identity.revoke", "agent.revoke"} <= done


def test_a_re_imaged_pc_is_merged_into_its_device_with_its_findings(client, app):
    secret = seed_site(app.state.engine, "A01")
    old = enroll(client, secret, "pc")
    post_report(client, old, host_report(old.agent_id, machine_id="before", results=FAILING[:2]))
    [device] = _devices(app)
    new = enroll(client, secret, "pc")
    # New machine id (the disk was wiped), same serial and MAC: the same PC.
    r = post_report(client, new, host_report(new.agent_id, machine_id="after", results=FAILING[1:4]))
    flagged = r.json()["device_id"]
    [claim] = _claims(app)
    assert claim.kind == "conflict" and claim.device_id == device.id
    admin = user_token(client, app.state.engine, username="adm", role="admin", sites=["A01"])
    ok = client.post(
        f"/api/v1/identity-conflicts/{claim.id}/resolve", json={"action": "merge"}, headers=admin
    )
    assert ok.status_code == 200, ok.text
    [merged] = _devices(app)
    assert merged.id == device.id and merged.agent_id == new.agent_id and merged.machine_id == "after"
    with Session(app.state.engine) as s:
        findings = {f.check_id: f for f in s.exec(select(Finding).where(Finding.device_id == device.id))}
    # check 0 (old only), 1 (both: one finding, two histories), 2-3 (new only).
    assert sorted(findings) == sorted(FAILING_CHECKS[:4])
    assert flagged != device.id
    assert (
        post_report(client, new, host_report(new.agent_id, machine_id="after")).json()["device_id"]
        == device.id
    )


def test_network_device_naming_another_site_is_refused_with_the_reason(client, app):
    a, b = _two_sites(client, app)
    before = len(_devices(app))
    r = post_report(client, a, _netdev_report(a, site="B01"))
    assert r.status_code == 403
    assert "B01" in r.json()["detail"] and "A01" in r.json()["detail"]
    assert len(_devices(app)) == before
    ok = post_report(client, a, _netdev_report(a, site="A01"))
    assert ok.status_code == 202
    [nd] = [d for d in _devices(app) if d.kind == "network_device"]

    assert nd.agent_id == a.agent_id
    with Session(app.state.engine) as s:
        from collector.models.core import Agent

        assert nd.site_id == s.get(Agent, a.agent_id).site_id


def test_network_device_not_on_the_sites_list_or_polled_by_another_agent_is_refused(client, app):
    engine = app.state.engine
    secret = seed_site(engine, "A01")
    poller, other = enroll(client, secret, "poller"), enroll(client, secret, "other")
    assert (
        post_report(client, poller, _netdev_report(poller, name="core", host="10.0.0.1")).status_code == 202
    )
    # Another agent of the same site reporting the same router: not its device.
    r = post_report(client, other, _netdev_report(other, name="core", host="10.0.0.1"))
    assert r.status_code == 403 and "polled by another agent" in r.json()["detail"]
    # Once the site keeps a device list, only devices on it are accepted.
    with Session(engine) as s:
        site_id = s.exec(select(Device.site_id)).first()
        s.add(ManagedNetDevice(site_id=site_id, name="core", host="10.0.0.1", username="ww"))
        s.commit()
    rogue = post_report(client, poller, _netdev_report(poller, name="rogue-sw", host="10.0.0.99"))
    assert rogue.status_code == 403 and "not on the device list of site A01" in rogue.json()["detail"]
    # The poller's key is revoked (PC replaced): the other agent takes the router over.
    city = user_token(client, engine, username="city", role="admin")
    assert client.post(f"/api/v1/agents/{poller.agent_id}/revoke", headers=city).status_code == 204
    assert post_report(client, other, _netdev_report(other, name="core", host="10.0.0.1")).status_code == 202
    [nd] = [d for d in _devices(app) if d.kind == "network_device"]
    assert nd.agent_id == other.agent_id


def _netdev_report(
    agent: EnrolledAgent, *, site: str | None = None, name: str = "sw-1", host: str = "10.0.0.2"
):
    return Report(
        agent_id=agent.agent_id,
        collected_at=utcnow(),
        subject=Subject(
            kind="network_device",
            hostname=name,
            device=NetworkDeviceIdentity(name=name, host=host, platform="cisco_ios"),
            site=site,
        ),
    )


def test_another_agents_reused_report_id_is_refused_and_stores_nothing(client, app):
    a, b = _two_sites(client, app)
    mine = host_report(a.agent_id, machine_id="mid-A")
    assert post_report(client, a, mine).status_code == 202
    stolen = host_report(b.agent_id, machine_id="mid-B", hostname="pc-b").model_copy(
        update={"report_id": mine.report_id}
    )
    r = post_report(client, b, stolen)
    assert r.status_code == 409 and "another agent" in r.json()["detail"]
    assert "device_id" not in r.json()
    assert [d.hostname for d in _devices(app)] == ["pc-01"]
    again = post_report(client, a, mine)
    assert again.status_code == 202 and again.json()["status"] == "duplicate"
    fresh = stolen.model_copy(update={"report_id": uuid.uuid4()})
    assert post_report(client, b, fresh).json()["status"] == "accepted"


def test_a_device_whose_agent_is_gone_is_adopted_by_its_sites_new_agent_without_a_conflict(client, app):
    secret = seed_site(app.state.engine, "A01")
    old = enroll(client, secret, "pc")
    device_id = post_report(client, old, host_report(old.agent_id)).json()["device_id"]
    with Session(app.state.engine) as s:
        s.get(Device, device_id).agent_id = None  # what deleting the agent leaves (ON DELETE SET NULL)
        s.commit()
    new = enroll(client, secret, "pc")
    assert post_report(client, new, host_report(new.agent_id)).json()["device_id"] == device_id
    assert _claims(app) == []
    with Session(app.state.engine) as s:
        assert s.get(Device, device_id).agent_id == new.agent_id
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "device.adopted")).one().target == (
            f"device:{device_id}"
        )


def test_merging_keeps_the_asset_record_and_takes_the_new_agents_certificates(client, app):
    from datetime import date, timedelta

    from collector.models.assets import Asset
    from collector.models.certificates import DeviceCertificate

    secret = seed_site(app.state.engine, "A01")
    old, new = enroll(client, secret, "pc"), enroll(client, secret, "pc")
    device = post_report(client, old, host_report(old.agent_id)).json()["device_id"]
    flagged = post_report(client, new, host_report(new.agent_id)).json()["device_id"]
    now = utcnow()
    with Session(app.state.engine) as s:
        site_id = s.get(Device, device).site_id
        for device_id, subject in ((device, "CN=old view"), (flagged, "CN=new view")):
            # The same certificate at the same place on both: folding must not collide.
            s.add(
                DeviceCertificate(
                    device_id=device_id, site_id=site_id, role="tls", sha256="ab" * 32, subject=subject,
                    issuer="CN=CA", serial="01", not_before=now, not_after=now + timedelta(days=30),
                    key_type="rsa", signature_algorithm="sha256WithRSA", location_kind="file",
                    location_path="/etc/ssl/a.pem",
                )
            )  # fmt: skip
            s.add(Asset(device_id=device_id, asset_tag=f"TAG-{device_id}", purchase_date=date(2019, 5, 1)))
        s.commit()
    [claim] = _claims(app)
    admin = user_token(client, app.state.engine, username="adm", role="admin")
    ok = client.post(
        f"/api/v1/identity-conflicts/{claim.id}/resolve", json={"action": "merge"}, headers=admin
    )
    assert ok.status_code == 200, ok.text
    with Session(app.state.engine) as s:
        certs = s.exec(select(DeviceCertificate)).all()
        assets = s.exec(select(Asset)).all()
    assert [(c.device_id, c.subject) for c in certs] == [(device, "CN=new view")]
    assert [(a.device_id, a.asset_tag) for a in assets] == [(device, f"TAG-{device}")]
