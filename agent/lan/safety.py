"""What a scan may touch: private ranges of this host's interfaces, or CIDRs explicitly configured.

Every rule here runs in the agent process before any packet leaves, and again in the child: a public
range is refused unless ``allow_public``, a range larger than ``/max_prefix`` is refused, and loopback,
multicast, link-local and "this network" ranges are never scanned.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import asdict, dataclass

import psutil

from agent.lan.config import LanConfig
from agent.lan.platform import default_gateways


class ScanRefused(ValueError):
    """The requested scan breaks a safety rule; the message says which and how to proceed."""


@dataclass(frozen=True)
class ScanTarget:
    cidr: str
    interface: str | None  # None: not on a local link (routed; no ARP, no DHCP)
    source_ip: str | None
    source_mac: str | None
    gateway_ip: str | None

    def to_dict(self) -> dict[str, str | None]:
        return asdict(self)


@dataclass(frozen=True)
class LocalAddress:
    interface: str
    ip: ipaddress.IPv4Interface
    mac: str | None


def local_addresses() -> list[LocalAddress]:
    out = []
    for name, addrs in psutil.net_if_addrs().items():
        mac = next((a.address.lower().replace("-", ":") for a in addrs if a.family == psutil.AF_LINK), None)
        for a in addrs:
            if a.family != socket.AF_INET or not a.netmask:
                continue
            iface = ipaddress.IPv4Interface(f"{a.address}/{a.netmask}")
            if iface.ip.is_loopback:
                continue
            out.append(LocalAddress(name, iface, mac))
    return out


def check_range(net: ipaddress.IPv4Network, config: LanConfig) -> None:
    """Raise ScanRefused when ``net`` may not be scanned under ``config``."""
    for bad, why in (
        (net.is_loopback, "loopback"),
        (net.is_multicast, "multicast"),
        (net.is_link_local, "link-local"),
        (net.is_unspecified or net.subnet_of(ipaddress.IPv4Network("0.0.0.0/8")), "'this network'"),
        (net.subnet_of(ipaddress.IPv4Network("240.0.0.0/4")), "reserved"),
    ):
        if bad:
            raise ScanRefused(f"refusing to scan {net}: a {why} range")
    if not net.is_private and not config.allow_public:
        raise ScanRefused(
            f"refusing to scan {net}: it is a public range. Only private ranges are scanned unless "
            "lan.allow_public = true is set in the agent configuration."
        )
    if net.prefixlen < config.max_prefix:
        raise ScanRefused(
            f"refusing to scan {net}: {net.num_addresses} addresses is larger than the /{config.max_prefix} "
            f"cap (lan.max_prefix). Scan a smaller CIDR with --cidr."
        )


def _gateway_for(interface: str, addresses: list[LocalAddress]) -> str | None:
    own = {str(a.ip.ip) for a in addresses if a.interface == interface}
    for route_iface, gw in default_gateways():
        if route_iface == interface or route_iface in own:
            return gw
    return None


def resolve_targets(
    config: LanConfig, *, interface: str | None = None, cidr: str | None = None
) -> list[ScanTarget]:
    """The subnets to scan, checked against every safety rule; raises ScanRefused otherwise.

    ``cidr`` (the command line) overrides ``config.cidrs``; ``interface`` overrides
    ``config.interface``; with neither, the subnet of the default route's interface is scanned.
    """
    addresses = local_addresses()
    iface_name = interface or config.interface
    cidrs = [cidr] if cidr else list(config.cidrs)

    if iface_name and iface_name not in {a.interface for a in addresses}:
        known = ", ".join(sorted({a.interface for a in addresses})) or "none"
        raise ScanRefused(f"interface {iface_name!r} has no IPv4 address (interfaces with one: {known})")

    if not cidrs:
        if not iface_name:
            routes = default_gateways()
            if not routes:
                raise ScanRefused(
                    "no default route: name an interface with --interface or a CIDR with --cidr"
                )
            iface_name = routes[0][0]
            match = [a for a in addresses if a.interface == iface_name or str(a.ip.ip) == iface_name]
            if not match:
                raise ScanRefused(f"the default route's interface {iface_name!r} has no IPv4 address")
            iface_name = match[0].interface
        nets = [a for a in addresses if a.interface == iface_name]
        targets = []
        for a in nets:
            net = a.ip.network
            check_range(net, config)
            targets.append(
                ScanTarget(str(net), a.interface, str(a.ip.ip), a.mac, _gateway_for(a.interface, addresses))
            )
        return targets

    targets = []
    for c in cidrs:
        try:
            net = ipaddress.IPv4Network(c, strict=False)
        except ValueError as exc:
            raise ScanRefused(f"not an IPv4 CIDR: {c!r} ({exc})") from exc
        check_range(net, config)
        # On a local link when one of our addresses is inside it (or the interface was named).
        on_link = [
            a
            for a in addresses
            if (a.ip.ip in net or net.subnet_of(a.ip.network))
            and (not iface_name or a.interface == iface_name)
        ]
        if on_link:
            a = on_link[0]
            gw = _gateway_for(a.interface, addresses)
            gw = gw if gw and ipaddress.IPv4Address(gw) in net else None
            targets.append(ScanTarget(str(net), a.interface, str(a.ip.ip), a.mac, gw))
        else:
            targets.append(ScanTarget(str(net), None, None, None, None))
    return targets
