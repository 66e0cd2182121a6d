"""Enrollment and report ingest through the real API, on SQLite and PostgreSQL."""

from __future__ import annotations

import gzip
import json

from sqlalchemy import func
from sqlmodel import Session, select

from collector.app import create_app
from collector.models.core import Agent, Device, DeviceSection, RawReport
from inventory.facts import DiskFacts
from inventory.report import CheckResult, CheckStatus, ReportKind, section_hash
from tests.helpers import enroll, host_report, post_report, seed_site


def count(engine, model) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def test_enroll_returns_a_key_stored_only_as_a_hash(client, app):
    agent = enroll(client, seed_site(app.state.engine))
    assert agent.key.startswith("wwa_") and agent.site == "P01"
    with Session(app.state.engine) as s:
        row = s.get(Agent, agent.agent_id)
        assert row is not None and agent.key not in row.key_hash and len(row.key_hash) == 64


def test_wrong_enroll_secret_is_refused_and_creates_nothing(client, app):
    seed_site(app.state.engine)
    r = client.post("/api/v1/agents/enroll", json={"secret": "wwe_guess", "hostname": "pc"})
    assert r.status_code == 401 and "enroll secret" in r.json()["detail"]
    assert count(app.state.engine, Agent) == 0


def test_report_is_stored_and_the_host_appears(client, app):
    agent = enroll(client, seed_site(app.state.engine))
    report = host_report(agent.agent_id, hostname="ubnd-ben-nghe-01")
    r = post_report(client, agent, report)
    assert r.status_code == 202 and r.json()["status"] == "accepted"
    device_id = r.json()["device_id"]
    with Session(app.state.engine) as s:
        device = s.get(Device, device_id)
        assert device is not None and device.hostname == "ubnd-ben-nghe-01"
        assert device.serial == "SN-1" and device.mac == "00:11:22:33:44:55"
        raw = s.exec(select(RawReport)).one()
        assert json.loads(gzip.decompress(raw.body_gz))["report_id"] == str(report.report_id)


def test_duplicate_report_is_acknowledged_and_stores_nothing_new(client, app):
    agent = enroll(client, seed_site(app.state.engine))
    report = host_report(agent.agent_id)
    assert post_report(client, agent, report).json()["duplicate"] is False
    again = post_report(client, agent, report, gzipped=False)
    assert again.status_code == 202 and again.json() == {
        **again.json(),
        "status": "duplicate",
        "duplicate": True,
    }
    assert count(app.state.engine, RawReport) == 1


def test_unchanged_sections_are_not_rewritten(client, app):
    agent = enroll(client, seed_site(app.state.engine))
    first = host_report(agent.agent_id)
    post_report(client, agent, first)
    with Session(app.state.engine) as s:
        before = {r.section: (r.hash, r.report_id) for r in s.exec(select(DeviceSection)).all()}
    second = host_report(agent.agent_id, memory=16 * 2**30)
    post_report(client, agent, second)
    with Session(app.state.engine) as s:
        after = {r.section: (r.hash, r.report_id) for r in s.exec(select(DeviceSection)).all()}
    assert after["system"] == before["system"]  # same content: the row still names the first report
    assert after["memory"][1] == str(second.report_id) and after["memory"][0] != before["memory"][0]


def test_delta_on_the_named_base_keeps_omitted_sections(client, app):
    agent = enroll(client, seed_site(app.state.engine))
    full = host_report(agent.agent_id, disks=[DiskFacts(name="sda", size_bytes=500 * 10**9)])
    post_report(client, agent, full)
    disks = full.facts.model_dump(mode="json", exclude_none=True)["disks"]
    delta = host_report(agent.agent_id, kind=ReportKind.DELTA, memory=4 * 2**30)
    delta.facts.disks = None
    delta.partial = {"disks": section_hash(disks)}
    delta.base_report_id = full.report_id
    r = post_report(client, agent, delta)
    assert r.status_code == 202, r.text
    device = client.app.state.engine
    with Session(device) as s:
        sections = {row.section: row.data for row in s.exec(select(DeviceSection)).all()}
    assert sections["disks"][0]["name"] == "sda" and sections["memory"]["total_bytes"] == 4 * 2**30


def test_delta_on_an_unknown_base_asks_for_a_full_report(client, app):
    agent = enroll(client, seed_site(app.state.engine))
    post_report(client, agent, host_report(agent.agent_id))
    delta = host_report(agent.agent_id, kind=ReportKind.DELTA)
    delta.partial = {"disks": "0" * 64}
    delta.base_report_id = delta.report_id  # never received
    r = post_report(client, agent, delta)
    assert r.status_code == 409 and r.json()["needs_full"] is True
    assert count(app.state.engine, RawReport) == 1


def test_cloned_image_makes_a_second_flagged_device(client, app):
    engine = app.state.engine
    secret = seed_site(engine)
    a, b = enroll(client, secret, "pc-a"), enroll(client, secret, "pc-b")
    post_report(
        client,
        a,
        host_report(a.agent_id, hostname="pc-a", machine_id="same", serial="S-A", mac="00:00:00:00:00:0a"),
    )
    post_report(
        client,
        b,
        host_report(b.agent_id, hostname="pc-b", machine_id="same", serial="S-B", mac="00:00:00:00:00:0b"),
    )
    # The first PC reports again: still its own device, not merged into the clone.
    post_report(
        client,
        a,
        host_report(a.agent_id, hostname="pc-a", machine_id="same", serial="S-A", mac="00:00:00:00:00:0a"),
    )
    with Session(engine) as s:
        devices = s.exec(select(Device).order_by(Device.id)).all()
    assert [d.hostname for d in devices] == ["pc-a", "pc-b"]
    assert devices[0].clone_of_id is None and devices[1].clone_of_id == devices[0].id


def test_same_pc_with_a_new_network_card_stays_one_device(client, app):
    agent = enroll(client, seed_site(app.state.engine))
    post_report(client, agent, host_report(agent.agent_id, mac="00:00:00:00:00:01"))
    post_report(client, agent, host_report(agent.agent_id, mac="00:00:00:00:00:02"))
    assert count(app.state.engine, Device) == 1


def test_results_are_current_per_check(client, app):
    agent = enroll(client, seed_site(app.state.engine))
    failing = CheckResult(check_id="host.firewall_enabled", status=CheckStatus.FAIL, evidence="ufw inactive")
    post_report(client, agent, host_report(agent.agent_id, results=[failing]))
    passing = CheckResult(check_id="host.firewall_enabled", status=CheckStatus.PASS, evidence="ufw active")
    r = post_report(client, agent, host_report(agent.agent_id, results=[passing]))
    from tests.helpers import user_token

    headers = user_token(client, app.state.engine)
    detail = client.get(f"/api/v1/devices/{r.json()['device_id']}", headers=headers).json()
    assert [(x["check_id"], x["status"]) for x in detail["results"]] == [("host.firewall_enabled", "pass")]


def test_collector_restart_loses_no_accepted_report(client, app, settings):
    agent = enroll(client, seed_site(app.state.engine))
    ids = []
    for i in range(5):
        report = host_report(agent.agent_id, hostname=f"pc-{i}", machine_id=f"m{i}", serial=f"s{i}")
        assert post_report(client, agent, report).status_code == 202
        ids.append(str(report.report_id))
    app.state.engine.dispose()
    restarted = create_app(settings)
    try:
        with Session(restarted.state.engine) as s:
            stored = set(s.exec(select(RawReport.report_id)).all())
        assert stored == set(ids)
    finally:
        restarted.state.engine.dispose()
