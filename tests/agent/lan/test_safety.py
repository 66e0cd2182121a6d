"""The safety rules: private ranges only (unless allowed), a size cap, never special ranges."""

from __future__ import annotations

import ipaddress
import subprocess
import sys
from pathlib import Path

import pytest

from agent.lan.config import LanConfig
from agent.lan.safety import ScanRefused, check_range, resolve_targets

REPO = Path(__file__).resolve().parents[3]


def net(c: str) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(c)


@pytest.mark.parametrize("cidr", ["192.168.1.0/24", "10.20.0.0/22", "172.16.5.0/24", "198.18.0.0/24"])
def test_private_ranges_within_the_cap_are_allowed(cidr: str) -> None:
    check_range(net(cidr), LanConfig())


def test_public_range_refused_unless_allowed() -> None:
    with pytest.raises(ScanRefused, match="public range.*allow_public"):
        check_range(net("8.8.8.0/24"), LanConfig())
    check_range(net("8.8.8.0/24"), LanConfig(allow_public=True))


def test_size_cap() -> None:
    with pytest.raises(ScanRefused, match=r"larger than the /22 cap"):
        check_range(net("10.0.0.0/16"), LanConfig())
    check_range(net("10.0.0.0/20"), LanConfig(max_prefix=20))


@pytest.mark.parametrize("cidr", ["127.0.0.0/24", "224.0.0.0/24", "169.254.1.0/24", "0.0.0.0/24"])
def test_special_ranges_never_scanned(cidr: str) -> None:
    with pytest.raises(ScanRefused):
        check_range(net(cidr), LanConfig(allow_public=True, max_prefix=8))


def test_cidr_not_on_a_local_link_is_routed() -> None:
    (target,) = resolve_targets(LanConfig(), cidr="10.254.254.0/24")
    assert target.cidr == "10.254.254.0/24"
    assert target.interface is None  # no ARP, no DHCP there: connect probes only


def test_unknown_interface_is_named_in_the_error() -> None:
    with pytest.raises(ScanRefused, match="'nosuch0' has no IPv4 address"):
        resolve_targets(LanConfig(), interface="nosuch0")


def test_config_errors_say_what_and_where() -> None:
    with pytest.raises(ValueError, match=r"lan.cidrs: 'banana'"):
        LanConfig(cidrs=["banana"])
    with pytest.raises(ValueError, match=r"lan.ports: not TCP ports: \[70000\]"):
        LanConfig(ports=[22, 70000])
    with pytest.raises(ValueError, match="neither an IPv4 nor a MAC"):
        LanConfig(dhcp_allow_list=["router"])
    assert LanConfig(dhcp_allow_list=["00-0C-42-11-22-33"]).dhcp_allow_list == ["00:0c:42:11:22:33"]


def test_cli_refuses_a_public_range_before_sending_anything(tmp_path: Path) -> None:
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "collector.cli",
            "agent",
            "scan",
            "--cidr",
            "8.8.8.0/24",
            "--state-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert r.returncode == 2, r.stderr
    assert "refusing to scan 8.8.8.0/24: it is a public range" in " ".join(r.stderr.split())
    assert not (tmp_path / "lan").exists()


def test_importing_the_agent_loads_no_scanner() -> None:
    code = (
        "import sys, agent.cli, agent.config, agent.lan, agent.lan.config, checks.evaluators.lan;"
        "print(sorted(m for m in sys.modules if m.startswith('scapy') or m == 'agent.lan.rawscan'))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert r.stdout.strip() == "[]", r.stderr
