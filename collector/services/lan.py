"""A site's LAN: store each scan an agent reports, judge unknown devices against the site's registry,
keep every host's first and last sighting, and the differences from the previous scan.

Known devices of a site are the collector's own: the MACs and addresses of its agents' hosts (their
``network_interfaces`` section and identity MAC) and of its polled network devices (address, and
the interfaces of their ``device`` section). A host the agent's own list marks known stays known.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from collector.models.core import Device, DeviceSection, Site
from collector.models.lan import LanHost, LanScan
from inventory.lan import LanScanFacts
from inventory.oui import normalize_mac


@dataclass
class KnownIndex:
    by_mac: dict[str, tuple[int, str]] = field(default_factory=dict)
    by_ip: dict[str, tuple[int, str]] = field(default_factory=dict)

    def match(self, mac: str | None, ip: str) -> tuple[int, str] | None:
        if mac and mac in self.by_mac:
            return self.by_mac[mac]
        return self.by_ip.get(ip)


def _mac(value: Any) -> str | None:
    try:
        return normalize_mac(str(value)) if value else None
    except ValueError:
        return None


def _ip(value: Any) -> str | None:
    try:
        return str(ipaddress.IPv4Interface(str(value)).ip) if value else None
    except ValueError:
        return None


def known_devices(session: Session, site_id: int) -> KnownIndex:
    index = KnownIndex()
    devices = session.exec(select(Device).where(Device.site_id == site_id)).all()
    by_id = {d.id: d for d in devices}

    def add(device: Device, mac: Any = None, ip: Any = None) -> None:
        entry = (device.id or 0, device.hostname)
        m, a = _mac(mac), _ip(ip)
        if m and m not in index.by_mac:
            index.by_mac[m] = entry
        if a and a not in index.by_ip:
            index.by_ip[a] = entry

    for d in devices:
        add(d, mac=d.mac, ip=d.address)
    if not by_id:
        return index
    rows = session.exec(
        select(DeviceSection).where(
            col(DeviceSection.device_id).in_(list(by_id)),
            col(DeviceSection.section).in_(["network_interfaces", "device"]),
        )
    ).all()
    for row in rows:
        device = by_id[row.device_id]
        ifaces = row.data if row.section == "network_interfaces" else (row.data or {}).get("interfaces")
        for iface in ifaces or []:
            if not isinstance(iface, dict):
                continue
            addrs = iface.get("ipv4") or []
            add(device, mac=iface.get("mac"))
            for a in addrs:
                add(device, ip=a)
    return index


def host_key(mac: str | None, ip: str) -> str:
    return f"mac:{mac}" if mac else f"ip:{ip}"


def judge_known(facts: LanScanFacts, index: KnownIndex) -> tuple[LanScanFacts, dict[str, int]]:
    """``facts`` with every host's ``known`` decided by the site's registry (and the agent's list)."""
    updated = facts.model_copy(deep=True)
    matched: dict[str, int] = {}
    for h in updated.hosts:
        hit = index.match(h.mac, h.ip)
        if hit is not None:
            h.known, h.known_as = True, hit[1]
            matched[h.ip] = hit[0]
        elif h.known is not True:
            h.known = False
    return updated, matched


def _snapshot(facts: LanScanFacts) -> dict[str, Any]:
    return {
        host_key(h.mac, h.ip): {
            "ip": h.ip,
            "mac": h.mac,
            "vendor": h.vendor,
            "known": h.known,
            "ports": h.open_ports,
        }
        for h in facts.hosts
    }


def diff_snapshots(
    before: dict[str, Any] | None, after: dict[str, Any]
) -> dict[str, list[dict[str, Any]] | bool]:
    """What changed between two scans: hosts added, removed, and changed (address, open ports);
    ``first_scan`` (True) instead when there is no scan before."""
    if before is None:
        return {"added": [], "removed": [], "changed": [], "first_scan": True}
    added = [{"key": k, **after[k]} for k in sorted(set(after) - set(before))]
    removed = [{"key": k, **before[k]} for k in sorted(set(before) - set(after))]
    changed = []
    for k in sorted(set(before) & set(after)):
        b, a = before[k], after[k]
        what: dict[str, Any] = {}
        if b.get("ip") != a.get("ip"):
            what["ip_was"] = b.get("ip")
        opened = sorted(set(a.get("ports") or []) - set(b.get("ports") or []))
        closed = sorted(set(b.get("ports") or []) - set(a.get("ports") or []))
        if opened:
            what["opened"] = opened
        if closed:
            what["closed"] = closed
        if what:
            changed.append({"key": k, "ip": a.get("ip"), "mac": a.get("mac"), **what})
    return {"added": added, "removed": removed, "changed": changed}


def record_scan(
    session: Session,
    *,
    site_id: int,
    device_id: int | None,
    report_id: str,
    facts: LanScanFacts,
    now: datetime,
) -> tuple[LanScan, LanScanFacts]:
    """Store one scan and its hosts; returns the scan row and the facts with ``known`` judged here."""
    judged, matched = judge_known(facts, known_devices(session, site_id))
    snapshot = _snapshot(judged)
    previous = session.exec(
        select(LanScan)
        .where(LanScan.site_id == site_id, LanScan.cidr == (judged.cidr or ""))
        .order_by(col(LanScan.received_at).desc(), col(LanScan.id).desc())
    ).first()
    scan = LanScan(
        site_id=site_id,
        device_id=device_id,
        report_id=report_id,
        cidr=judged.cidr or "",
        interface=judged.interface,
        privileged=judged.privileged,
        started_at=judged.started_at,
        finished_at=judged.finished_at,
        received_at=now,
        hosts_count=len(judged.hosts),
        unknown_count=sum(1 for h in judged.hosts if h.known is False),
        gateway_ip=judged.gateway_ip,
        gateway_mac=judged.gateway_mac,
        previous_gateway_mac=judged.previous_gateway_mac,
        dhcp_servers=[d.model_dump(mode="json") for d in judged.dhcp_servers],
        arp_conflicts=[c.model_dump(mode="json") for c in judged.arp_conflicts],
        skipped=[s.model_dump(mode="json") for s in judged.skipped],
        snapshot=snapshot,
        changes=diff_snapshots(previous.snapshot if previous else None, snapshot),
        previous_scan_id=previous.id if previous else None,
    )
    session.add(scan)
    session.flush()

    existing = {h.key: h for h in session.exec(select(LanHost).where(LanHost.site_id == site_id)).all()}
    seen_at = judged.finished_at or now
    for h in judged.hosts:
        key = host_key(h.mac, h.ip)
        row = existing.get(key)
        if row is None:
            row = LanHost(site_id=site_id, key=key, ip=h.ip, first_seen_at=seen_at, last_seen_at=seen_at)
        row.ip, row.mac, row.vendor = h.ip, h.mac, h.vendor
        row.name = h.name or row.name
        row.known, row.known_as = h.known, h.known_as
        row.known_device_id = matched.get(h.ip)
        row.is_gateway = h.is_gateway
        row.open_ports = h.open_ports
        row.snmp_communities = [a.community for a in h.snmp]
        row.banners = sorted({s.banner for s in h.services if s.banner})
        row.last_seen_at = max(row.last_seen_at, seen_at)
        row.last_scan_id = scan.id
        row.present = True
        session.add(row)
    # Hosts of this subnet that the scan did not find are kept but marked absent.
    nets = _networks(judged.cidr)
    for key, row in existing.items():
        if key in snapshot or not row.present:
            continue
        if nets and any(_in(row.ip, n) for n in nets):
            row.present = False
            session.add(row)
    return scan, judged


def _networks(cidr: str | None) -> list[ipaddress.IPv4Network]:
    out = []
    for part in (cidr or "").split(","):
        try:
            out.append(ipaddress.IPv4Network(part.strip(), strict=False))
        except ValueError:
            continue
    return out


def _in(ip: str, net: ipaddress.IPv4Network) -> bool:
    try:
        return ipaddress.IPv4Address(ip) in net
    except ValueError:
        return False


@dataclass
class SiteLan:
    site: Site
    latest: LanScan | None
    scans: list[LanScan]
    hosts: list[LanHost]
    scanners: dict[int, str]


def site_lan(session: Session, site: Site, *, scans: int = 10) -> SiteLan:
    """The site's LAN for its page and API: the latest scans, and hosts (present first, by address)."""
    recent = list(
        session.exec(
            select(LanScan)
            .where(LanScan.site_id == site.id)
            .order_by(col(LanScan.received_at).desc(), col(LanScan.id).desc())
            .limit(scans)
        ).all()
    )
    hosts = list(session.exec(select(LanHost).where(LanHost.site_id == site.id)).all())
    hosts.sort(key=lambda h: (not h.present, _ip_sort(h.ip)))
    ids = {s.device_id for s in recent if s.device_id}
    names = (
        {
            d.id or 0: d.hostname
            for d in session.exec(select(Device).where(col(Device.id).in_(list(ids)))).all()
        }
        if ids
        else {}
    )
    return SiteLan(site=site, latest=recent[0] if recent else None, scans=recent, hosts=hosts, scanners=names)


def _ip_sort(ip: str) -> int:
    try:
        return int(ipaddress.IPv4Address(ip))
    except ValueError:
        return 0
