"""Linux: effective capabilities, the kernel's neighbour table and default routes from /proc."""

from __future__ import annotations

import socket
import struct
from pathlib import Path

from agent.lan.neighbours import Neighbour

CAP_NET_RAW = 13


def parse_cap_eff(status_text: str) -> int:
    for line in status_text.splitlines():
        if line.startswith("CapEff:"):
            return int(line.split()[1], 16)
    return 0


def has_raw_socket_privilege(proc: Path = Path("/proc/self/status")) -> bool:
    """True when this process may open raw sockets: CAP_NET_RAW is in its *effective* set."""
    try:
        return bool(parse_cap_eff(proc.read_text()) >> CAP_NET_RAW & 1)
    except OSError:
        return False


def parse_proc_net_arp(text: str) -> list[Neighbour]:
    """Complete entries of /proc/net/arp (flag 0x2); incomplete ones have a zero MAC."""
    out = []
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) < 6:
            continue
        ip, _hwtype, flags, mac, _mask, dev = parts[:6]
        if not int(flags, 16) & 0x2 or mac == "00:00:00:00:00:00":
            continue
        out.append(Neighbour(ip=ip, mac=mac.lower(), interface=dev))
    return out


def neighbours(path: Path = Path("/proc/net/arp")) -> list[Neighbour]:
    try:
        return parse_proc_net_arp(path.read_text())
    except OSError:
        return []


def parse_proc_net_route(text: str) -> list[tuple[str, str]]:
    """Default routes as (interface, gateway IP), lowest metric first."""
    routes = []
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) < 8:
            continue
        iface, dest, gw, flags, metric = parts[0], parts[1], parts[2], int(parts[3], 16), int(parts[6])
        # RTF_UP (0x1) and RTF_GATEWAY (0x2), destination 0.0.0.0
        if dest != "00000000" or flags & 0x3 != 0x3:
            continue
        ip = socket.inet_ntoa(struct.pack("<I", int(gw, 16)))
        routes.append((metric, iface, ip))
    return [(iface, ip) for _m, iface, ip in sorted(routes)]


def default_gateways(path: Path = Path("/proc/net/route")) -> list[tuple[str, str]]:
    try:
        return parse_proc_net_route(path.read_text())
    except OSError:
        return []
