"""Windows: administrator rights with Npcap, ``arp -a`` and ``route print -4``.

Written against recorded command output (tests/agent/lan/data); the same functions as ``linux.py``.
"""

from __future__ import annotations

import re
import subprocess

from agent.lan.neighbours import Neighbour

_IFACE = re.compile(r"^Interface:\s+(\d+\.\d+\.\d+\.\d+)", re.IGNORECASE)
_ENTRY = re.compile(r"^\s+(\d+\.\d+\.\d+\.\d+)\s+([0-9a-f]{2}(?:-[0-9a-f]{2}){5})\s+(\w+)", re.IGNORECASE)
_ROUTE = re.compile(r"^\s*0\.0\.0\.0\s+0\.0\.0\.0\s+(\d+\.\d+\.\d+\.\d+)\s+(\d+\.\d+\.\d+\.\d+)\s+(\d+)")


def has_raw_socket_privilege() -> bool:
    """False: raw frames on Windows would go through Npcap, which the scanner does not drive (its
    sender is an AF_PACKET socket). Windows agents run the unprivileged parts: TCP connect probes,
    ``arp -a``, SNMP; rogue DHCP and ARP spoofing are reported as skipped."""
    return False


def parse_arp_a(text: str) -> list[Neighbour]:
    """``arp -a`` output; the interface is named by its IPv4 address. Broadcast/multicast dropped."""
    out: list[Neighbour] = []
    iface = ""
    for line in text.splitlines():
        m = _IFACE.match(line)
        if m:
            iface = m.group(1)
            continue
        m = _ENTRY.match(line)
        if not m:
            continue
        ip, mac, _kind = m.groups()
        mac = mac.lower().replace("-", ":")
        first = int(mac[:2], 16)
        if mac == "ff:ff:ff:ff:ff:ff" or first & 0x01:
            continue
        out.append(Neighbour(ip=ip, mac=mac, interface=iface))
    return out


def neighbours() -> list[Neighbour]:
    try:
        text = subprocess.run(["arp", "-a"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return parse_arp_a(text)


def parse_route_print(text: str) -> list[tuple[str, str]]:
    """Default routes from ``route print -4`` as (interface address, gateway), lowest metric first."""
    routes = []
    for line in text.splitlines():
        m = _ROUTE.match(line)
        if m:
            gw, iface, metric = m.groups()
            routes.append((int(metric), iface, gw))
    return [(iface, gw) for _m, iface, gw in sorted(routes)]


def default_gateways() -> list[tuple[str, str]]:
    try:
        text = subprocess.run(["route", "print", "-4"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return parse_route_print(text)
