"""Small helpers shared by the host evaluators (no evaluators here)."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime
from typing import Any

from checks.runner import CannotObserve, MissingFact
from inventory.facts import Facts
from inventory.security import SecurityFacts

GIB = 1024**3


def security(facts: Facts) -> SecurityFacts:
    if facts.security is None:
        raise MissingFact("security")
    return facts.security


def part(facts: Facts, name: str) -> Any:
    """One part of the security section.

    Missing with a reason in ``errors`` (the agent tried: no privilege, state unreadable):
    ``CannotObserve`` -> ``unknown``, never a pass. Missing without one (not collected at all):
    ``MissingFact`` -> ``not_applicable``.
    """
    sec = security(facts)
    value = getattr(sec, name, None)
    if value is None:
        why = sec.errors.get(name)
        if why:
            raise CannotObserve(f"security.{name} ({why})")
        raise MissingFact(f"security.{name}")
    return value


def unseen(facts: Facts, path: str) -> CannotObserve:
    """``CannotObserve`` for a field a reader left unset (``path`` below ``security``, such as
    ``remote_access.ssh.root_login``), with the reason the reader recorded under that path in
    ``errors`` when it gave one: raise it, ``raise unseen(facts, "accounts.guest_enabled")``."""
    sec = facts.security
    why = sec.errors.get(path) if sec is not None else None
    return CannotObserve(f"security.{path} ({why})" if why else f"security.{path}")


def aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def days_since(dt: datetime, now: datetime) -> int:
    return (aware(now) - aware(dt)).days


def day(dt: datetime) -> str:
    return aware(dt).date().isoformat()


def host_of(address: str) -> str:
    """``192.168.1.5:3389`` / ``[::]:22`` / ``0.0.0.0`` -> the address part."""
    a = address.strip()
    if a.startswith("["):
        return a[1 : a.index("]")]
    if a.count(":") == 1:
        return a.split(":")[0]
    return a


def is_wildcard(addr: str) -> bool:
    return host_of(addr) in ("0.0.0.0", "::", "*", "")


def is_loopback(addr: str) -> bool:
    try:
        return ipaddress.ip_address(host_of(addr)).is_loopback
    except ValueError:
        return host_of(addr) == "localhost"


# Address ranges a LAN uses (RFC 1918, carrier-grade NAT, link-local, loopback, IPv6 ULA). Python's
# ``is_private`` also counts documentation and benchmark ranges, which are not LANs.
LAN_NETS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "169.254.0.0/16",
        "127.0.0.0/8",
        "fc00::/7",
        "fe80::/10",
        "::1/128",
    )
)


def _lan_net(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    if isinstance(net, ipaddress.IPv4Network):
        return any(isinstance(lan, ipaddress.IPv4Network) and net.subnet_of(lan) for lan in LAN_NETS)
    return any(isinstance(lan, ipaddress.IPv6Network) and net.subnet_of(lan) for lan in LAN_NETS)


def _lan_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return _lan_net(ipaddress.ip_network(ip))


def is_lan_address(addr: str) -> bool:
    """A private, link-local or loopback address: not reachable from the Internet by itself."""
    try:
        ip = ipaddress.ip_address(host_of(addr).split("%")[0])
    except ValueError:
        return False
    return _lan_ip(ip)


# Windows Firewall scope keywords that stay inside the organisation's network.
LAN_SCOPES = {"localsubnet", "localsubnet4", "localsubnet6", "intranet", "intranetremoteaccess", "playtonet"}
ANY_SCOPES = {"any", "*", "internet", "0.0.0.0/0", "::/0", "0.0.0.0-255.255.255.255"}


def scope_is_lan(scope: str) -> bool | None:
    """True for a LAN-only firewall scope, False for one open beyond the LAN, None if unreadable.

    Windows writes scopes as keywords (Any, LocalSubnet), addresses, ranges ``a-b`` and subnets
    with a prefix or a dotted mask (``192.168.1.0/255.255.255.0``).
    """
    s = scope.strip().lower()
    if s in ANY_SCOPES:
        return False
    if s in LAN_SCOPES or s in ("defaultgateway", "dns", "dhcp", "wins"):
        return True
    try:
        if "-" in s:
            lo, hi = (ipaddress.ip_address(x) for x in s.split("-", 1))
            return _lan_ip(lo) and _lan_ip(hi)
        if "/" in s:
            addr, mask = s.split("/", 1)
            if "." in mask:
                mask = str(ipaddress.IPv4Network(f"0.0.0.0/{mask}").prefixlen)
            return _lan_net(ipaddress.ip_network(f"{addr}/{mask}", strict=False))
        return _lan_ip(ipaddress.ip_address(s))
    except ValueError:
        return None
