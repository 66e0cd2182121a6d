"""One LAN scan, run inside the child process: discovery, services, SNMP, DHCP, ARP conflicts.

With CAP_NET_RAW (effective) every part runs on raw frames; without it discovery uses TCP connect
attempts and the OS neighbour table, services use TCP connect, and the rogue-DHCP and ARP-spoofing
parts are recorded as skipped ("needs CAP_NET_RAW").
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from agent.lan import probes
from agent.lan.config import LanConfig
from agent.lan.platform import has_raw_socket_privilege, neighbours
from agent.lan.safety import ScanTarget, check_range
from inventory.lan import (
    NEEDS_NET_RAW,
    ArpConflict,
    DhcpServer,
    LanHost,
    LanScanFacts,
    ServiceProbe,
    SkippedPart,
    SnmpAnswer,
)
from inventory.oui import is_locally_administered, vendor_for

Emit = Callable[[dict[str, Any]], None]
SNMP_COMMUNITIES = ("public", "private")
HTTP_PORTS = (80, 8080)
NOT_ON_LINK = "subnet not on a local link"


class _Progress:
    def __init__(self, emit: Emit) -> None:
        self.emit = emit

    def part(self, part: str, total: int = 0) -> Callable[[int, int], None]:
        self.emit({"type": "part", "part": part, "total": total})
        last = [0.0]

        def tick(done: int, total: int) -> None:
            now = time.monotonic()
            if now - last[0] > 0.1 or done >= total:
                last[0] = now
                self.emit({"type": "progress", "part": part, "done": done, "total": total})

        return tick


def run_scan(
    config: LanConfig,
    targets: list[ScanTarget],
    *,
    previous_gateway_macs: dict[str, str] | None = None,
    emit: Emit = lambda _e: None,
    privileged: bool | None = None,
) -> LanScanFacts:
    for t in targets:  # the parent checked too; a child started by hand gets no shortcut
        check_range(ipaddress.IPv4Network(t.cidr), config)
    if privileged is None:
        privileged = has_raw_socket_privilege()
    progress = _Progress(emit)
    facts = LanScanFacts(
        cidr=", ".join(t.cidr for t in targets),
        interface=next((t.interface for t in targets if t.interface), None),
        source_ip=next((t.source_ip for t in targets if t.source_ip), None),
        source_mac=next((t.source_mac for t in targets if t.source_mac), None),
        privileged=privileged,
        started_at=datetime.now(UTC),
        packets_per_second=config.packets_per_second,
        ports=list(config.ports),
        dhcp_allow_list=list(config.dhcp_allow_list),
        known_devices_configured=bool(config.known_devices),
    )
    scan = _Scan(config, progress, probes.Pacer(config.packets_per_second))
    link = next((t for t in targets if t.interface and t.source_mac and t.source_ip), None)
    if privileged and link is not None:
        scan.start_raw(link)
    try:
        for t in targets:
            scan.discover(t)
        # SNMP and reverse DNS wait mostly for answers: they run beside the service probes.
        background = [scan.in_background(scan.snmp)]
        dns_started = time.monotonic()
        dns = probes.ReverseDns(list(scan.hosts)) if config.reverse_dns and scan.hosts else None
        for t in targets:
            scan.services(t)
        for th in background:
            th.join()
        scan.http_titles()

        gw = next((t.gateway_ip for t in targets if t.gateway_ip), None)
        facts.gateway_ip = gw
        if gw:
            facts.gateway_mac = _gateway_mac(gw, scan.hosts)
            if gw in scan.hosts:
                scan.hosts[gw].is_gateway = True
            facts.previous_gateway_mac = (previous_gateway_macs or {}).get(gw)

        # DHCP and the passive ARP window share their time: the ARP watch keeps listening meanwhile.
        if scan.raw is not None and link is not None:
            listen_from = time.monotonic()
            if config.dhcp_window > 0:
                tick = progress.part("dhcp", 1)
                offers = scan.raw.dhcp_discover(
                    link.interface or "", scan.sender, link.source_mac or "", config.dhcp_window
                )
                facts.dhcp_servers = [_dhcp_server(o, config) for o in offers]
                facts.dhcp_window_seconds = config.dhcp_window
                tick(1, 1)
                scan.parts.add("dhcp")
            rest = config.passive_window - (time.monotonic() - listen_from)
            if rest > 0:
                tick = progress.part("passive", 1)
                time.sleep(rest)
                tick(1, 1)
            facts.passive_window_seconds = config.passive_window
            scan.parts.update({"passive", "arp_conflicts"})
        else:
            reason = NEEDS_NET_RAW if not privileged else NOT_ON_LINK
            for part in ("dhcp", "arp_conflicts", "passive"):
                scan.skipped.setdefault(part, reason)

        scan.late_replies(targets)
        if dns is not None:
            tick = progress.part("dns", len(scan.hosts))
            for ip, name in dns.collect(deadline=dns_started + 2.0).items():
                scan.hosts[ip].name = name
            tick(len(scan.hosts), len(scan.hosts))
            scan.parts.add("dns")
    finally:
        claims = scan.stop_raw()

    if "arp_conflicts" in scan.parts:
        facts.arp_conflicts = _conflicts(claims, facts.gateway_ip, targets)
    _mark_known(config, scan.hosts)
    facts.hosts = sorted(scan.hosts.values(), key=lambda h: _ip_key(h.ip))
    facts.parts_run = sorted(scan.parts)
    facts.skipped = [
        SkippedPart(part=p, reason=r) for p, r in sorted(scan.skipped.items()) if p not in scan.parts
    ]
    facts.errors = scan.errors
    facts.finished_at = datetime.now(UTC)
    return facts


class _Scan:
    """The state of one scan as its parts fill it in."""

    def __init__(self, config: LanConfig, progress: _Progress, pacer: probes.Pacer) -> None:
        self.config = config
        self.progress = progress
        self.pacer = pacer
        self.hosts: dict[str, LanHost] = {}
        self.parts: set[str] = set()
        self.skipped: dict[str, str] = {}
        self.errors: list[str] = []
        self.raw: Any = None
        self.watch: Any = None
        self.sender: Any = None
        self.connect_results: dict[tuple[str, int], str] = {}

    # -- raw sockets -------------------------------------------------------------------------
    def start_raw(self, link: ScanTarget) -> None:
        from agent.lan import rawscan  # scapy: only here, only in the child

        self.raw = rawscan
        self.sender = rawscan.Sender(link.interface or "", self.pacer)
        self.watch = rawscan.ArpWatch(link.interface or "", link.source_mac or "", link.source_ip)
        self.watch.start()

    def stop_raw(self) -> dict[str, dict[str, set[str]]]:
        claims: dict[str, dict[str, set[str]]] = {}
        if self.watch is not None:
            self.watch.stop()
            with self.watch.lock:
                claims = {ip: {m: set(s) for m, s in macs.items()} for ip, macs in self.watch.claims.items()}
        if self.sender is not None:
            self.sender.close()
        return claims

    def raw_on(self, t: ScanTarget) -> bool:
        return (
            self.watch is not None and t.interface == self.watch.iface and bool(t.source_mac and t.source_ip)
        )

    def in_background(self, fn: Callable[[], None]) -> Any:
        import threading

        def guarded() -> None:
            try:
                fn()
            except Exception as exc:  # a failed part is reported, the rest of the scan goes on
                self.errors.append(f"{fn.__name__}: {type(exc).__name__}: {exc}")

        th = threading.Thread(target=guarded, daemon=True)
        th.start()
        return th

    # -- parts -------------------------------------------------------------------------------
    def add(self, ip: str, mac: str | None, how: str) -> LanHost:
        h = self.hosts.get(ip)
        if h is None:
            h = self.hosts[ip] = LanHost(ip=ip)
        if mac and not h.mac:
            h.mac = mac
            h.vendor = vendor_for(mac)
            h.mac_locally_administered = is_locally_administered(mac)
        if how not in h.seen_by:
            h.seen_by.append(how)
        return h

    def discover(self, t: ScanTarget) -> None:
        net = ipaddress.IPv4Network(t.cidr)
        ips = [str(ip) for ip in (net.hosts() if net.prefixlen < 31 else net) if str(ip) != t.source_ip]
        config = self.config
        if self.raw_on(t):
            replies = self.raw.arp_sweep(
                self.watch,
                self.sender,
                t.source_mac,
                t.source_ip,
                ips,
                reply_wait=config.reply_wait,
                progress=self.progress.part("discovery", len(ips)),
            )
            for ip, macs in replies.items():
                self.add(ip, macs[0], "arp")
        else:
            # Unprivileged (or routed) discovery: a TCP connect attempt makes the kernel resolve each
            # on-link address, so live hosts land in the neighbour table; any TCP answer counts too.
            probe_ports = (config.ports[:1] or [80]) if t.interface else (config.ports or [80])
            results = probes.connect_probe(
                [(ip, p) for ip in ips for p in probe_ports],
                pacer=self.pacer,
                timeout=config.probe_timeout,
                progress=self.progress.part("discovery", len(ips) * len(probe_ports)),
            )
            self.connect_results.update(results)
            for (ip, _p), state in results.items():
                if state in (probes.OPEN, probes.CLOSED):
                    self.add(ip, None, "connect")
            if t.interface:
                in_net = set(ips)
                for n in neighbours():
                    if n.ip in in_net and n.interface in (t.interface, t.source_ip):
                        self.add(n.ip, n.mac, "neighbour")
        self.parts.add("discovery")

    def late_replies(self, targets: list[ScanTarget]) -> None:
        """Hosts whose ARP reply came after the sweep (a dozing Wi-Fi client) still count as found."""
        if self.watch is None:
            return
        nets = [ipaddress.IPv4Network(t.cidr) for t in targets if self.raw_on(t)]
        with self.watch.lock:
            late = {ip: macs[0] for ip, macs in self.watch.replies.items() if ip not in self.hosts}
        for ip, mac in late.items():
            if any(ipaddress.IPv4Address(ip) in n for n in nets):
                self.add(ip, mac, "arp")

    def services(self, t: ScanTarget) -> None:
        net = ipaddress.IPv4Network(t.cidr)
        found = sorted((ip for ip in self.hosts if ipaddress.IPv4Address(ip) in net), key=_ip_key)
        ports = self.config.ports
        self.parts.add("services")
        if not found or not ports:
            return
        if self.raw_on(t):
            with_mac = [(ip, self.hosts[ip].mac or "") for ip in found if self.hosts[ip].mac]
            states = self.raw.syn_probe(
                t.interface,
                self.sender,
                t.source_mac,
                t.source_ip,
                with_mac,
                ports,
                reply_wait=self.config.reply_wait,
                progress=self.progress.part("services", len(with_mac) * len(ports)),
            )
            method = "syn"
        else:
            pairs = [(ip, p) for ip in found for p in ports if (ip, p) not in self.connect_results]
            states = probes.connect_probe(
                pairs,
                pacer=self.pacer,
                timeout=self.config.probe_timeout,
                progress=self.progress.part("services", len(pairs)),
            )
            states.update({k: v for k, v in self.connect_results.items() if k[0] in set(found)})
            method = "connect"
        for (ip, port), state in sorted(states.items()):
            if ip in self.hosts and state == probes.OPEN:
                self.hosts[ip].services.append(ServiceProbe(port=port, state="open", method=method))

    def snmp(self) -> None:
        if not self.config.snmp or not self.hosts:
            return
        hosts = sorted(self.hosts, key=_ip_key)
        tick = self.progress.part("snmp", len(hosts))
        answers = probes.snmp_probe(
            hosts, SNMP_COMMUNITIES, pacer=self.pacer, timeout=self.config.probe_timeout
        )
        for ip, got in answers.items():
            if ip in self.hosts:
                self.hosts[ip].snmp = [SnmpAnswer(community=c, sys_descr=d) for c, d in got]
        tick(len(hosts), len(hosts))
        self.parts.add("snmp")

    def http_titles(self) -> None:
        """Page titles of plain-HTTP services: they tell a router's admin page from a printer's."""
        import threading

        jobs = [
            (h.ip, s)
            for h in self.hosts.values()
            for s in h.services
            if s.port in HTTP_PORTS and s.state == "open"
        ]
        self.parts.add("http")
        if not jobs:
            return
        tick = self.progress.part("http", len(jobs))
        timeout = self.config.probe_timeout

        def one(ip: str, svc: ServiceProbe) -> None:
            svc.banner = probes.http_title(ip, svc.port, timeout)

        for i in range(0, len(jobs), 32):
            threads = [threading.Thread(target=one, args=job, daemon=True) for job in jobs[i : i + 32]]
            for th in threads:
                th.start()
            for th in threads:
                th.join(timeout * 3)
            tick(min(i + 32, len(jobs)), len(jobs))


def _gateway_mac(gw: str, hosts: dict[str, LanHost]) -> str | None:
    # What this host actually uses: its own neighbour entry beats the first reply we saw.
    for n in neighbours():
        if n.ip == gw:
            return n.mac
    if gw in hosts and hosts[gw].mac:
        return hosts[gw].mac
    return None


def _dhcp_server(offer: Any, config: LanConfig) -> DhcpServer:
    allowed: bool | None = None
    if config.dhcp_allow_list:
        allowed = offer.server_ip in config.dhcp_allow_list or offer.mac in config.dhcp_allow_list
    return DhcpServer(
        server_ip=offer.server_ip,
        mac=offer.mac,
        vendor=vendor_for(offer.mac),
        offered_ip=offer.offered_ip,
        router=offer.router,
        dns=offer.dns,
        offers=offer.count,
        allowed=allowed,
    )


def _conflicts(
    claims: dict[str, dict[str, set[str]]], gateway_ip: str | None, targets: list[ScanTarget]
) -> list[ArpConflict]:
    nets = [ipaddress.IPv4Network(t.cidr) for t in targets]
    out = []
    for ip, macs in sorted(claims.items(), key=lambda kv: _ip_key(kv[0])):
        if len(macs) < 2 or not any(ipaddress.IPv4Address(ip) in n for n in nets):
            continue
        ordered = sorted(macs)
        out.append(
            ArpConflict(
                ip=ip,
                macs=ordered,
                vendors=[vendor_for(m) for m in ordered],
                sources=sorted({s for m in ordered for s in macs[m]}),
                is_gateway=ip == gateway_ip,
            )
        )
    return out


def _mark_known(config: LanConfig, hosts: dict[str, LanHost]) -> None:
    if not config.known_devices:
        return
    by_mac = {d.mac: d for d in config.known_devices if d.mac}
    by_ip = {d.ip: d for d in config.known_devices if d.ip and not d.mac}
    for h in hosts.values():
        d = (by_mac.get(h.mac) if h.mac else None) or by_ip.get(h.ip)
        h.known = d is not None
        h.known_as = (d.name or d.mac or d.ip) if d else None


def _ip_key(ip: str) -> int:
    return int(ipaddress.IPv4Address(ip))
