"""Parsers of what the OS says: /proc on Linux, `arp -a` and `route print` on Windows."""

from __future__ import annotations

from pathlib import Path

from agent.lan import linux, windows
from agent.lan.neighbours import Neighbour

DATA = Path(__file__).parent / "data"


def test_proc_net_arp_keeps_complete_entries_only() -> None:
    got = linux.parse_proc_net_arp((DATA / "proc_net_arp.txt").read_text())
    assert got == [
        Neighbour("198.18.0.1", "00:0c:42:11:22:33", "eth0"),
        Neighbour("198.18.0.20", "00:15:5d:01:02:03", "eth0"),
        Neighbour("198.18.0.30", "00:80:77:12:34:56", "eth0"),
    ]


def test_default_routes_lowest_metric_first() -> None:
    got = linux.parse_proc_net_route((DATA / "proc_net_route.txt").read_text())
    assert got == [("eth0", "198.18.0.1"), ("wlan0", "192.168.1.1")]


def test_cap_net_raw_read_from_the_effective_set(tmp_path: Path) -> None:
    without = DATA / "proc_self_status.txt"  # CapEff ...dfff: bit 13 cleared (capsh --drop=cap_net_raw)
    assert linux.has_raw_socket_privilege(without) is False
    with_raw = tmp_path / "status"
    with_raw.write_text(without.read_text().replace("CapEff:\t000001fffeffdfff", "CapEff:\t0000000000002000"))
    assert linux.has_raw_socket_privilege(with_raw) is True
    assert linux.has_raw_socket_privilege(tmp_path / "missing") is False


def test_windows_arp_a_drops_broadcast_and_multicast() -> None:
    got = windows.parse_arp_a((DATA / "windows_arp_a.txt").read_text())
    assert got == [
        Neighbour("192.168.1.1", "00:0c:42:11:22:33", "192.168.1.23"),
        Neighbour("192.168.1.40", "00:80:77:12:34:56", "192.168.1.23"),
        Neighbour("10.8.0.1", "50:c7:bf:aa:bb:cc", "10.8.0.2"),
    ]


def test_windows_route_print_default_routes() -> None:
    got = windows.parse_route_print((DATA / "windows_route_print.txt").read_text())
    assert got == [("192.168.1.23", "192.168.1.1"), ("10.8.0.2", "10.8.0.1")]
