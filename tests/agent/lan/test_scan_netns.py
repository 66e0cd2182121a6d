"""Real packets: an office LAN in namespaces, scanned by `wardwatch agent scan` from one of them.

The office (198.18.0.0/24, a Linux bridge in its own namespace):
  .1   gateway, MikroTik MAC, the legitimate DHCP server (dnsmasq), web admin on 80 and Winbox 8291
  .10  a registered PC (Intel MAC), nothing listening
  .20  an unregistered server with Telnet, SMB and RDP listening
  .30  a printer answering SNMP v2c "public" (not "private")
  .40  twice: two machines configured with the same address (duplicate IP)
  .66  a second DHCP server (dnsmasq, TP-Link MAC) offering itself as gateway
  .99  an ARP spoofer (scapy) broadcasting "198.18.0.1 is-at <its MAC>"
  .5   the scanning PC
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from checks.runner import run_checks
from inventory.facts import Facts
from inventory.lan import LanScanFacts
from inventory.report import CheckStatus
from tests.agent.lan.netlab import Lab, leftover_namespaces
from tests.agent.lan.support import dnsmasq, require_netns, responder, scan_cli, write_config

pytestmark = pytest.mark.netns

GW_MAC = "00:0c:42:11:22:33"  # Routerboard.com (MikroTik)
PC_MAC = "00:1b:21:0a:0b:0c"  # Intel
SRV_MAC = "00:15:5d:01:02:03"  # Microsoft (Hyper-V)
PRINTER_MAC = "00:80:77:12:34:56"  # Brother
ROGUE_MAC = "50:c7:bf:aa:bb:cc"  # TP-Link
SPOOF_MAC = "f0:de:f1:99:88:77"
DUP_A, DUP_B = "00:1b:21:00:00:40", "00:1b:21:00:00:41"


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    require_netns()
    tmp = tmp_path_factory.mktemp("office")
    lab = Lab()
    try:
        gw = lab.add("gw", "198.18.0.1", mac=GW_MAC)
        lab.add("pc10", "198.18.0.10", mac=PC_MAC, gateway="198.18.0.1")
        srv = lab.add("srv20", "198.18.0.20", mac=SRV_MAC)
        printer = lab.add("prn30", "198.18.0.30", mac=PRINTER_MAC)
        lab.add("dupa", "198.18.0.40", mac=DUP_A)
        lab.add("dupb", "198.18.0.40", mac=DUP_B)
        rogue = lab.add("rogue", "198.18.0.66", mac=ROGUE_MAC)
        spoofer = lab.add("spoof", "198.18.0.99", mac=SPOOF_MAC)
        lab.add("scan", "198.18.0.5", gateway="198.18.0.1")

        dnsmasq(gw, tmp / "dhcp-gw", "198.18.0.150", "198.18.0.199", "198.18.0.1")
        dnsmasq(rogue, tmp / "dhcp-rogue", "198.18.0.200", "198.18.0.220", "198.18.0.66")
        responder(gw, "listeners.py", "--title", "RouterOS router configuration page", "80", "8291")
        responder(srv, "listeners.py", "23", "445", "3389")
        responder(printer, "snmp_agent.py", "public", "Brother NC-8300w, Firmware Ver.1.10")
        responder(spoofer, "arp_spoofer.py", "eth0", "198.18.0.1", "0.3")
        yield lab
    finally:
        lab.close()
    assert leftover_namespaces(lab.prefix) == []


@pytest.fixture(scope="module")
def office_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_config(
        tmp_path_factory.mktemp("cfg") / "agent.toml",
        {
            "dhcp_window": 5.0,
            "passive_window": 2.0,
            "reply_wait": 0.4,
            "reverse_dns": False,
            "dhcp_allow_list": ["198.18.0.1"],
            "known_devices": [{"mac": GW_MAC, "name": "router"}, {"mac": PC_MAC, "name": "reception PC"}],
        },
    )


def _facts(r) -> LanScanFacts:  # type: ignore[no-untyped-def]
    assert r.returncode == 0, r.stderr[-3000:]
    return LanScanFacts.model_validate(json.loads(r.stdout))


def _by_check(facts: LanScanFacts) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for res in run_checks(Facts(network_scan=facts), modules=["lan"]):
        out.setdefault(res.check_id, {})[res.target] = res.status.value
    return out


def test_full_scan_finds_hosts_services_and_problems(
    office: Lab, office_config: Path, tmp_path: Path
) -> None:
    r = scan_cli(office["scan"], tmp_path / "state", office_config, "--cidr", "198.18.0.0/24")
    facts = _facts(r)

    assert facts.privileged is True and facts.skipped == []
    assert {"discovery", "services", "snmp", "dhcp", "arp_conflicts", "passive"} <= set(facts.parts_run)
    ips = {h.ip for h in facts.hosts}
    assert ips == {
        "198.18.0.1",
        "198.18.0.10",
        "198.18.0.20",
        "198.18.0.30",
        "198.18.0.40",
        "198.18.0.66",
        "198.18.0.99",
    }

    gw = facts.host("198.18.0.1")
    assert gw and gw.is_gateway and gw.mac == GW_MAC and gw.vendor == "Routerboard.com"
    assert gw.open_ports == [80, 8291]
    assert any(s.banner == "RouterOS router configuration page" for s in gw.services)
    assert facts.gateway_ip == "198.18.0.1"

    srv = facts.host("198.18.0.20")
    assert srv and srv.open_ports == [23, 445, 3389] and srv.vendor and srv.vendor.startswith("Microsoft")
    assert {s.method for s in srv.services} == {"syn"}
    assert facts.host("198.18.0.10").open_ports == []  # type: ignore[union-attr]

    printer = facts.host("198.18.0.30")
    assert printer and [a.community for a in printer.snmp] == ["public"]
    assert printer.snmp[0].sys_descr == "Brother NC-8300w, Firmware Ver.1.10"

    servers = {d.server_ip: d for d in facts.dhcp_servers}
    assert set(servers) == {"198.18.0.1", "198.18.0.66"}
    assert servers["198.18.0.1"].allowed is True and servers["198.18.0.1"].mac == GW_MAC
    rogue = servers["198.18.0.66"]
    assert rogue.allowed is False and rogue.mac == ROGUE_MAC and rogue.router == "198.18.0.66"
    assert rogue.offered_ip and rogue.offered_ip.startswith("198.18.0.2")

    conflicts = {c.ip: c for c in facts.arp_conflicts}
    assert set(conflicts) == {"198.18.0.1", "198.18.0.40"}
    assert set(conflicts["198.18.0.1"].macs) == {GW_MAC, SPOOF_MAC} and conflicts["198.18.0.1"].is_gateway
    assert "passive" in conflicts["198.18.0.1"].sources
    assert (
        set(conflicts["198.18.0.40"].macs) == {DUP_A, DUP_B} and "probe" in conflicts["198.18.0.40"].sources
    )

    assert facts.host("198.18.0.10").known is True  # type: ignore[union-attr]
    assert facts.host("198.18.0.20").known is False  # type: ignore[union-attr]

    checks = _by_check(facts)
    assert checks["lan.rogue_dhcp"] == {
        f"198.18.0.1 ({GW_MAC})": "pass",
        f"198.18.0.66 ({ROGUE_MAC})": "fail",
    }
    assert checks["lan.arp_spoofing"] == {"198.18.0.1": "fail", "198.18.0.40": "fail"}
    assert checks["lan.telnet_open"][f"198.18.0.20 ({SRV_MAC})"] == "fail"
    assert checks["lan.telnet_open"][f"198.18.0.10 ({PC_MAC})"] == "pass"
    assert checks["lan.rdp_open"][f"198.18.0.20 ({SRV_MAC})"] == "fail"
    assert checks["lan.smb_open"][f"198.18.0.20 ({SRV_MAC})"] == "fail"
    assert checks["lan.snmp_default_community"][f"198.18.0.30 ({PRINTER_MAC})"] == "fail"
    assert checks["lan.router_admin_exposed"][f"198.18.0.1 ({GW_MAC})"] == "fail"
    assert checks["lan.unknown_device"][f"198.18.0.20 ({SRV_MAC})"] == "fail"
    assert checks["lan.unknown_device"][f"198.18.0.10 ({PC_MAC})"] == "pass"
    assert checks["lan.gateway_mac_changed"] == {"198.18.0.1": "not_applicable"}  # first scan

    # Saved for the next report.
    saved = json.loads((tmp_path / "state" / "lan" / "latest.json").read_text())
    assert LanScanFacts.model_validate(saved) == facts


def test_unprivileged_fallback(office: Lab, office_config: Path, tmp_path: Path) -> None:
    scanner = office["scan"]
    scanner.exec("ip", "neigh", "flush", "all")  # what the kernel learns must come from this scan
    r = scan_cli(scanner, tmp_path / "state", office_config, "--cidr", "198.18.0.0/24", unprivileged=True)
    facts = _facts(r)

    assert facts.privileged is False
    assert {s.part: s.reason for s in facts.skipped} == {
        "arp_conflicts": "needs CAP_NET_RAW",
        "dhcp": "needs CAP_NET_RAW",
        "passive": "needs CAP_NET_RAW",
    }
    assert facts.dhcp_servers == [] and facts.arp_conflicts == []
    ips = {h.ip for h in facts.hosts}
    assert {"198.18.0.1", "198.18.0.10", "198.18.0.20", "198.18.0.30", "198.18.0.66", "198.18.0.99"} <= ips
    pc = facts.host("198.18.0.10")
    assert pc and pc.mac == PC_MAC and "neighbour" in pc.seen_by  # from /proc/net/arp
    srv = facts.host("198.18.0.20")
    assert srv and srv.open_ports == [23, 445, 3389] and {s.method for s in srv.services} == {"connect"}
    assert [a.community for a in facts.host("198.18.0.30").snmp] == ["public"]  # type: ignore[union-attr]

    checks = _by_check(facts)
    assert checks["lan.rogue_dhcp"] == {"": "skipped"}
    assert checks["lan.arp_spoofing"] == {"": "skipped"}
    assert checks["lan.telnet_open"][f"198.18.0.20 ({SRV_MAC})"] == "fail"
    results = run_checks(Facts(network_scan=facts), modules=["lan"])
    dhcp = next(x for x in results if x.check_id == "lan.rogue_dhcp")
    assert dhcp.evidence == "skipped: needs CAP_NET_RAW"


def test_readable_summary(office: Lab, office_config: Path, tmp_path: Path) -> None:
    quick = write_config(
        tmp_path / "quick.toml", {"dhcp_window": 1.0, "passive_window": 1.0, "reverse_dns": False}
    )
    r = scan_cli(office["scan"], tmp_path / "state", quick, "--interface", "eth0", json_out=False)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "LAN scan of 198.18.0.0/24 on eth0" in out
    assert "198.18.0.20" in out and "23, 445, 3389" in out
    assert "lan.telnet_open" in out and "The result is saved" in out


def test_gateway_mac_change_and_scapy_stays_out_of_the_agent(lab_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lab = lab_factory()
    gw = lab.add("gw", "198.18.1.1", mac=GW_MAC)
    lab.add("pc", "198.18.1.10", mac=PC_MAC)
    scanner = lab.add("scan", "198.18.1.5", gateway="198.18.1.1")
    state = tmp_path / "state"
    # The agent's own process runs the scan API; scapy must live only in the child.
    code = f"""
import json, sys
from pathlib import Path
from agent.lan.runner import run_scan
from agent.lan.store import latest_scan
from agent.lan.config import LanConfig
cfg = LanConfig(dhcp_window=0.5, passive_window=0.5, reverse_dns=False)
facts = run_scan(cfg, Path({str(state)!r}))
print(json.dumps({{"scapy": sorted(m for m in sys.modules if m.startswith("scapy")),
                  "hosts": [h.ip for h in facts.hosts], "gw": facts.gateway_mac,
                  "prev": facts.previous_gateway_mac,
                  "saved": latest_scan(Path({str(state)!r})) == facts}}))
"""

    def agent_scan() -> dict:  # type: ignore[type-arg]
        r = scanner.exec(sys.executable, "-c", code, check=False)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    first = agent_scan()
    assert first == {
        "scapy": [],
        "hosts": ["198.18.1.1", "198.18.1.10"],
        "gw": GW_MAC,
        "prev": None,
        "saved": True,
    }

    gw.set_mac("f0:de:f1:12:34:56")  # the router was swapped, or someone took its place
    scanner.exec("ip", "neigh", "flush", "all")
    second = agent_scan()
    assert second["gw"] == "f0:de:f1:12:34:56" and second["prev"] == GW_MAC

    from agent.lan.store import latest_scan

    facts = latest_scan(state)
    assert facts is not None and facts.gateway_mac_changed is True
    (res,) = [
        x
        for x in run_checks(Facts(network_scan=facts), modules=["lan"])
        if x.check_id == "lan.gateway_mac_changed"
    ]
    assert res.status == CheckStatus.FAIL and res.target == "198.18.1.1"
    assert "the last scan saw 00:0c:42:11:22:33" in res.evidence


def test_lab_is_removed_when_a_test_fails() -> None:
    require_netns()
    prefix = ""
    with pytest.raises(RuntimeError, match="boom"), Lab() as lab:
        prefix = lab.prefix
        node = lab.add("a", "198.18.2.1")
        node.start("sleep", "60")
        raise RuntimeError("boom")
    assert leftover_namespaces(prefix) == []
