"""Change history at ingest: a timeline per device, a site's changes since a date, suspicious changes
opening findings (and staying open until a user resolves them), bounded storage, scope. Runs on
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, func, select

from collector.models.findings import Finding
from collector.models.history import ChangeEvent
from collector.models.notifications import NotifyEvent
from inventory.facts import DiskFacts, OsFacts, SmartFacts, SoftwareFacts
from inventory.report import CheckResult, CheckStatus, ReportKind
from tests.collector.support import BASE_CONFIG, netdev_report
from tests.helpers import enroll, host_report, post_report, seed_site, user_token

GB = 2**30
CHROME = SoftwareFacts(name="Google Chrome", version="120.0.6099.130", vendor="Google LLC")
UNIKEY = SoftwareFacts(name="UniKey", version="4.3")
VIETKEY = SoftwareFacts(name="Vietkey 2000", version="2000")
ANYDESK = SoftwareFacts(name="AnyDesk", version="8.0.9", vendor="AnyDesk Software GmbH")


def disk(serial: str, *, passed: bool = True) -> DiskFacts:
    return DiskFacts(
        name="PhysicalDrive0",
        model="ST1000DM010",
        serial=serial,
        size_bytes=1000204886016,
        bus="sata",
        smart=SmartFacts(passed=passed),
    )


def baseline(agent_id: str, **kw):  # type: ignore[no-untyped-def]
    facts = {
        "memory": 8 * GB,
        "disks": [disk("WD-OLD-1")],
        "software": [CHROME, UNIKEY, VIETKEY],
        "os": OsFacts(family="windows", name="Windows 10 Pro", version="22H2", build="19045"),
    }
    facts.update(kw)
    return host_report(agent_id, **facts)


def _send(client, agent, report) -> int:  # type: ignore[no-untyped-def]
    answer = post_report(client, agent, report)
    assert answer.status_code == 202, answer.text
    return int(answer.json()["device_id"])


def _setup(client, app, site: str = "P01"):  # type: ignore[no-untyped-def]
    agent = enroll(client, seed_site(app.state.engine, site), "pc-01")
    device_id = _send(client, agent, baseline(agent.agent_id))
    return agent, device_id


def _changed_report(agent_id: str):  # type: ignore[no-untyped-def]
    chrome = CHROME.model_copy(update={"version": "131.0.6778.86"})
    return baseline(
        agent_id,
        memory=4 * GB,
        disks=[disk("ZN-NEW-2")],
        software=[chrome, UNIKEY, ANYDESK],
        os=OsFacts(family="windows", name="Windows 11 Pro", version="24H2", build="26100"),
    )


def test_a_changed_pc_gets_a_timeline_and_suspicious_changes_open_findings(client, app):
    agent, device_id = _setup(client, app)
    headers = user_token(client, app.state.engine)
    # The first report is the baseline: nothing "changed" yet.
    assert client.get(f"/api/v1/devices/{device_id}/history", headers=headers).json()["total"] == 0

    _send(client, agent, _changed_report(agent.agent_id))
    body = client.get(f"/api/v1/devices/{device_id}/history", headers=headers).json()
    texts = {i["text"] for i in body["items"]}
    assert "Memory (RAM) decreased from 8.0 GB to 4.0 GB" in texts
    assert "Installed AnyDesk 8.0.9" in texts
    assert "Removed Vietkey 2000 2000" in texts
    assert "Updated Google Chrome from 120.0.6099.130 to 131.0.6778.86" in texts
    assert any(t.startswith("Disk PhysicalDrive0 replaced:") and "ZN-NEW-2" in t for t in texts)
    assert any(t.startswith("Operating system upgraded from Windows 10 Pro 22H2") for t in texts)
    suspicious = {i["suspicious"] for i in body["items"] if i["suspicious"]}
    assert suspicious == {"change.disk_serial", "change.ram_decreased", "change.remote_access_tool"}

    vi = client.get(f"/api/v1/devices/{device_id}/history?lang=vi", headers=headers).json()
    assert "Cài đặt AnyDesk 8.0.9" in {i["text"] for i in vi["items"]}

    # Each suspicious change is a finding with a severity and a due date, like any other.
    findings = client.get(f"/api/v1/findings?device={device_id}&status=open", headers=headers).json()
    by_check = {f["check_id"]: f for f in findings}
    assert set(by_check) >= {"change.disk_serial", "change.ram_decreased", "change.remote_access_tool"}
    remote = by_check["change.remote_access_tool"]
    assert remote["severity"] == "high" and remote["target"] == "AnyDesk" and remote["due_at"]
    assert remote["title"]["vi"].startswith("Phần mềm điều khiển máy tính từ xa")
    assert "newly installed: AnyDesk 8.0.9" in remote["evidence"]

    # Filters: only the suspicious ones, only software.
    only = client.get(f"/api/v1/devices/{device_id}/history?suspicious=true", headers=headers).json()
    assert only["total"] == 3
    soft = client.get(f"/api/v1/devices/{device_id}/history?category=software", headers=headers).json()
    assert {i["action"] for i in soft["items"]} == {"installed", "removed", "updated"}


def test_an_unchanged_report_costs_no_history_and_a_full_report_does_not_close_change_findings(client, app):
    agent, device_id = _setup(client, app)
    _send(client, agent, _changed_report(agent.agent_id))
    engine = app.state.engine
    with Session(engine) as s:
        count = s.exec(select(func.count()).select_from(ChangeEvent)).one()
    # The same facts again, as a full report without a module list and with a passing check.
    again = _changed_report(agent.agent_id)
    again.results = [CheckResult(check_id="host.firewall.enabled", status=CheckStatus.PASS, evidence="on")]
    _send(client, agent, again)
    _send(client, agent, _changed_report(agent.agent_id).model_copy(update={"kind": ReportKind.HEARTBEAT}))
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(ChangeEvent)).one() == count
        open_changes = s.exec(
            select(Finding).where(Finding.check_id.startswith("change."), Finding.status == "open")  # type: ignore[union-attr]
        ).all()
    # A change finding records an event: no later report closes it as "gone".
    assert len(open_changes) == 3


def test_staff_resolve_a_change_finding_after_checking_it(client, app):
    agent, device_id = _setup(client, app)
    _send(client, agent, _changed_report(agent.agent_id))
    tech = user_token(client, app.state.engine)
    viewer = user_token(client, app.state.engine, username="v", role="viewer")
    findings = client.get(f"/api/v1/findings?device={device_id}", headers=tech).json()
    disk_finding = next(f for f in findings if f["check_id"] == "change.disk_serial")
    url = f"/api/v1/findings/{disk_finding['id']}/resolve"
    assert (
        client.post(url, json={"note": "Thay ổ theo phiếu bảo hành số 12"}, headers=viewer).status_code == 403
    )
    short = client.post(url, json={"note": "ok"}, headers=tech)
    assert short.status_code == 422 and "note" in str(short.json()["detail"][0]["loc"])
    done = client.post(url, json={"note": "Thay ổ theo phiếu bảo hành số 12"}, headers=tech)
    assert done.status_code == 200 and done.json()["status"] == "resolved"
    detail = client.get(f"/api/v1/findings/{disk_finding['id']}", headers=tech).json()
    assert detail["history"][0]["actor"] == "tech" and "bảo hành" in detail["history"][0]["note"]
    assert client.post(url, json={"note": "again, again"}, headers=tech).status_code == 409
    # An ordinary check's finding closes when the check passes; it cannot be resolved by hand.
    agent2 = enroll(client, seed_site(app.state.engine, "P01"), "pc-02")
    failing = [CheckResult(check_id="host.firewall.enabled", status=CheckStatus.FAIL, evidence="off")]
    other = _send(client, agent2, host_report(agent2.agent_id, machine_id="m2", serial="S2", results=failing))
    fw = client.get(f"/api/v1/findings?device={other}", headers=tech).json()[0]
    refused = client.post(f"/api/v1/findings/{fw['id']}/resolve", json={"note": "turned it on"}, headers=tech)
    assert refused.status_code == 409 and "closes by itself" in refused.json()["detail"]


def test_site_changes_since_a_date_and_scope(client, app):
    agent, device_id = _setup(client, app)
    _send(client, agent, _changed_report(agent.agent_id))
    engine = app.state.engine
    other = enroll(client, seed_site(engine, "P02", "Xã Đông Anh"), "pc-b")
    _send(client, other, baseline(other.agent_id, machine_id="mb", serial="SB"))
    _send(client, other, baseline(other.agent_id, machine_id="mb", serial="SB", memory=16 * GB))
    with Session(engine) as s:  # one change of P01 happened three weeks ago
        old = s.exec(select(ChangeEvent).where(ChangeEvent.kind == "os")).one()
        old.at = datetime.now(UTC) - timedelta(days=21)
        s.add(old)
        s.commit()
    admin = user_token(client, engine, username="boss", role="admin")
    week = client.get("/api/v1/sites/P01/changes", headers=admin).json()
    assert week["site"] == "P01" and all(i["site"] == "P01" for i in week["items"])
    assert "os" not in {i["kind"] for i in week["items"]}
    assert week["counts"]["suspicious"] == 3 and week["counts"]["total"] == week["total"]
    month = client.get(
        "/api/v1/sites/P01/changes?since=" + (datetime.now(UTC) - timedelta(days=30)).date().isoformat(),
        headers=admin,
    ).json()
    assert month["total"] == week["total"] + 1
    bad = client.get("/api/v1/sites/P01/changes?since=last-tuesday", headers=admin)
    assert bad.status_code == 422 and "since" in bad.json()["detail"][0]["loc"]
    assert client.get("/api/v1/sites/P01/changes?category=nonsense", headers=admin).status_code == 422

    scoped = user_token(client, engine, username="b-only", role="viewer", sites=["P02"])
    assert client.get("/api/v1/sites/P01/changes", headers=scoped).status_code == 404
    assert client.get(f"/api/v1/devices/{device_id}/history", headers=scoped).status_code == 404
    mine = client.get("/api/v1/sites/P02/changes", headers=scoped).json()
    assert [i["text"] for i in mine["items"]] == ["Memory (RAM) increased from 8.0 GB to 16.0 GB"]
    assert mine["items"][0]["suspicious"] is None


def test_a_reinstalled_pc_stores_a_bounded_number_of_rows(client, app):
    agent, device_id = _setup(client, app)
    many = [SoftwareFacts(name=f"KB50{i:04d} update", version="1") for i in range(600)]
    _send(client, agent, baseline(agent.agent_id, software=many))
    headers = user_token(client, app.state.engine)
    body = client.get(f"/api/v1/devices/{device_id}/history?limit=1000", headers=headers).json()
    assert body["total"] == 201
    assert any(i["text"] == "403 more changes in this report are not listed" for i in body["items"])


def test_a_failing_disk_and_a_network_device_config_change(client, app):
    agent, device_id = _setup(client, app)
    _send(client, agent, baseline(agent.agent_id, disks=[disk("WD-OLD-1", passed=False)]))
    engine = app.state.engine
    with Session(engine) as s:
        events = s.exec(select(NotifyEvent).where(NotifyEvent.kind == "disk.failing")).all()
    assert len(events) == 1 and events[0].payload["disk"] == "PhysicalDrive0"
    assert events[0].payload["site_code"] == "P01"

    poller = enroll(client, seed_site(engine, "P01"), "poller-pc")
    router_id = _send(client, poller, netdev_report(poller.agent_id, BASE_CONFIG))
    changed = BASE_CONFIG.replace(
        " transport input ssh\n", " transport input telnet ssh\n exec-timeout 0 0\n"
    )
    _send(client, poller, netdev_report(poller.agent_id, changed, uptime=99999))
    headers = user_token(client, engine)
    items = client.get(f"/api/v1/devices/{router_id}/history", headers=headers).json()["items"]
    assert [i["text"] for i in items] == ["Configuration changed: 2 lines added, 1 removed"]
    assert items[0]["category"] == "config" and items[0]["detail"]["previous"] < items[0]["detail"]["version"]
