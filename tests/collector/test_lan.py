"""A site's LAN at the collector: scans arrive in reports, hosts keep first/last seen, unknown
devices are judged against the site's registry, findings open, the API and the page show it.
Runs on SQLite and PostgreSQL (the ``client`` fixture)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from checks.runner import run_checks
from collector.models.core import DeviceResult
from collector.models.findings import Finding
from collector.models.lan import LanHost, LanScan
from inventory.facts import Facts, NetworkInterfaceFacts
from inventory.lan import (
    ArpConflict,
    DhcpServer,
    LanScanFacts,
    ServiceProbe,
    SkippedPart,
)
from inventory.lan import (
    LanHost as ScanHost,
)
from tests.collector.planning.seed import login
from tests.collector.support import PRINTER, SERVER, scan
from tests.helpers import enroll, host_report, post_report, seed_site

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
GW = ScanHost(
    ip="192.168.10.1",
    mac="00:0c:42:11:22:33",
    vendor="Routerboard.com",
    is_gateway=True,
    services=[ServiceProbe(port=80, banner="RouterOS router configuration page"), ServiceProbe(port=8291)],
)
# A computer with its own agent: the collector knows its MAC from its report.
OFFICE_PC = ScanHost(ip="192.168.10.21", mac="00:1b:21:0a:0b:0c", vendor="Intel Corporate")


def send_scan(client, agent, facts: LanScanFacts):  # type: ignore[no-untyped-def]
    # What an agent sends: the scan as a fact section and its LAN results, as its cycle runs them.
    results = run_checks(Facts(network_scan=facts), modules=["lan"])
    report = host_report(
        agent.agent_id,
        hostname="ke-toan-01",
        serial="SN-20",
        mac="02:11:22:33:44:20",
        results=results,
        network_scan=facts,
    )
    r = post_report(client, agent, report)
    assert r.status_code == 202, r.text
    return r.json()["device_id"]


def seed_office(client, app):  # type: ignore[no-untyped-def]
    secret = seed_site(app.state.engine)
    other = enroll(client, secret, hostname="mot-cua-01")
    pc_report = host_report(
        other.agent_id,
        hostname="mot-cua-01",
        serial="SN-21",
        mac="00:1b:21:0a:0b:0c",
        network_interfaces=[
            NetworkInterfaceFacts(name="eth0", mac="00:1b:21:0a:0b:0c", ipv4=["192.168.10.21/24"])
        ],
    )
    assert post_report(client, other, pc_report).status_code == 202
    return enroll(client, seed_site(app.state.engine), hostname="ke-toan-01")


def test_scan_is_stored_and_unknown_devices_are_judged_at_the_collector(client, app):
    agent = seed_office(client, app)
    first = scan(
        [GW, OFFICE_PC, SERVER, PRINTER],
        T0,
        dhcp_servers=[
            DhcpServer(server_ip="192.168.10.1", mac="00:0c:42:11:22:33", allowed=True),
            DhcpServer(
                server_ip="192.168.0.1", mac="50:c7:bf:aa:bb:cc", offered_ip="192.168.0.100", allowed=False
            ),
        ],
        arp_conflicts=[
            ArpConflict(ip="192.168.10.1", macs=["00:0c:42:11:22:33", "f0:de:f1:99:88:77"], is_gateway=True)
        ],
    )
    device_id = send_scan(client, agent, first)

    with Session(app.state.engine) as s:
        hosts = {h.ip: h for h in s.exec(select(LanHost)).all()}
        assert set(hosts) == {"192.168.10.1", "192.168.10.21", "192.168.10.30", "192.168.10.40"}
        assert hosts["192.168.10.21"].known is True and hosts["192.168.10.21"].known_as == "mot-cua-01"
        assert hosts["192.168.10.30"].known is False and hosts["192.168.10.30"].open_ports == [23, 445]
        assert hosts["192.168.10.40"].snmp_communities == ["public"]
        assert hosts["192.168.10.1"].first_seen_at == T0 + timedelta(seconds=9)
        row = s.exec(select(LanScan)).one()
        assert row.device_id == device_id and row.hosts_count == 4 and row.unknown_count == 3
        assert row.changes.get("first_scan") is True

        unknown = {
            r.target: r.status
            for r in s.exec(select(DeviceResult).where(DeviceResult.check_id == "lan.unknown_device")).all()
        }
        assert unknown["192.168.10.21 (00:1b:21:0a:0b:0c)"] == "pass"
        assert unknown["192.168.10.30 (00:15:5d:01:02:03)"] == "fail"
        open_findings = {
            (f.check_id, f.target) for f in s.exec(select(Finding).where(Finding.status == "open")).all()
        }
    assert ("lan.unknown_device", "192.168.10.30 (00:15:5d:01:02:03)") in open_findings
    assert ("lan.rogue_dhcp", "192.168.0.1 (50:c7:bf:aa:bb:cc)") in open_findings
    assert ("lan.arp_spoofing", "192.168.10.1") in open_findings
    assert ("lan.telnet_open", "192.168.10.30 (00:15:5d:01:02:03)") in open_findings
    assert ("lan.snmp_default_community", "192.168.10.40 (00:80:77:12:34:56)") in open_findings
    assert ("lan.router_admin_exposed", "192.168.10.1 (00:0c:42:11:22:33)") in open_findings
    assert ("lan.unknown_device", "192.168.10.21 (00:1b:21:0a:0b:0c)") not in open_findings


def test_second_scan_keeps_first_seen_and_lists_the_changes(client, app):
    agent = seed_office(client, app)
    send_scan(client, agent, scan([GW, OFFICE_PC, SERVER, PRINTER], T0))
    later = T0 + timedelta(days=1)
    server_now = SERVER.model_copy(update={"services": [ServiceProbe(port=23), ServiceProbe(port=3389)]})
    newcomer = ScanHost(ip="192.168.10.77", mac="3c:5a:b4:01:02:03", vendor="Google")
    moved_pc = OFFICE_PC.model_copy(update={"ip": "192.168.10.22"})
    send_scan(client, agent, scan([GW, moved_pc, server_now, newcomer], later))

    with Session(app.state.engine) as s:
        hosts = {h.mac: h for h in s.exec(select(LanHost)).all()}
        pc = hosts["00:1b:21:0a:0b:0c"]
        assert pc.ip == "192.168.10.22" and pc.first_seen_at == T0 + timedelta(seconds=9)
        assert pc.last_seen_at == later + timedelta(seconds=9)
        assert hosts["00:80:77:12:34:56"].present is False  # the printer was not found this time
        latest = s.exec(select(LanScan).order_by(LanScan.id.desc())).first()  # type: ignore[union-attr]
        assert latest is not None and latest.previous_scan_id is not None
        ch = latest.changes
    assert [h["ip"] for h in ch["added"]] == ["192.168.10.77"]
    assert [h["ip"] for h in ch["removed"]] == ["192.168.10.40"]
    changed = {c["ip"]: c for c in ch["changed"]}
    assert changed["192.168.10.30"]["opened"] == [3389] and changed["192.168.10.30"]["closed"] == [445]
    assert changed["192.168.10.22"]["ip_was"] == "192.168.10.21"

    # The API tells the same story.
    login(client, app.state.engine, username="tech", role="technician")
    body = client.get("/api/v1/sites/P01/lan").json()
    assert body["latest_scan"]["hosts_count"] == 4 and body["latest_scan"]["scanned_by"] == "ke-toan-01"
    assert [h["ip"] for h in body["latest_scan"]["changes"]["added"]] == ["192.168.10.77"]
    api_hosts = {h["ip"]: h for h in body["hosts"]}
    assert api_hosts["192.168.10.77"]["known"] is False and api_hosts["192.168.10.77"]["vendor"] == "Google"
    assert api_hosts["192.168.10.40"]["present"] is False
    assert len(body["scans"]) == 2
    present_only = client.get("/api/v1/sites/P01/lan", params={"include_absent": False}).json()
    assert "192.168.10.40" not in {h["ip"] for h in present_only["hosts"]}


def test_lan_page_in_vietnamese(client, app):
    agent = seed_office(client, app)
    send_scan(
        client,
        agent,
        scan(
            [GW, OFFICE_PC, SERVER],
            T0,
            dhcp_servers=[DhcpServer(server_ip="192.168.0.1", mac="50:c7:bf:aa:bb:cc", allowed=False)],
        ),
    )
    login(client, app.state.engine, username="tech", role="technician")
    page = client.get("/sites/P01/lan")
    assert page.status_code == 200
    html = page.text
    assert "Mạng nội bộ (LAN)" in html and "Routerboard.com" in html
    assert "Thiết bị lạ" in html and "Telnet (23)" in html and "SMB (445)" in html
    assert "Máy chủ DHCP lạ" in html and "192.168.0.1" in html
    assert "mot-cua-01" in html  # the known PC is named after its registered device
    assert "20/11/2026 09:00" in html  # first seen, in Vietnam time, dd/mm/yyyy


def test_unprivileged_scan_shows_what_was_skipped(client, app):
    agent = seed_office(client, app)
    facts = scan([GW, OFFICE_PC], T0).model_copy(
        update={
            "privileged": False,
            "parts_run": ["discovery", "services", "snmp"],
            "skipped": [SkippedPart(part="dhcp", reason="needs CAP_NET_RAW")],
        }
    )
    send_scan(client, agent, facts)
    login(client, app.state.engine, username="tech", role="technician")
    html = client.get("/sites/P01/lan").text
    assert "Không đặc quyền (thiếu CAP_NET_RAW)" in html and "needs CAP_NET_RAW" in html


def test_a_user_of_another_site_gets_404(client, app):
    agent = seed_office(client, app)
    send_scan(client, agent, scan([GW], T0))
    seed_site(app.state.engine, code="P02", name="Phường Đa Kao")
    login(client, app.state.engine, username="p02", role="technician", sites=["P02"])
    assert client.get("/api/v1/sites/P01/lan").status_code == 404
    assert client.get("/sites/P01/lan").status_code == 404
    assert client.get("/api/v1/sites/P02/lan").json()["latest_scan"] is None
