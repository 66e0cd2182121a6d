"""LAN scan evaluators (module "lan"): one verdict per host, DHCP server or conflicting address.

Pure functions over ``facts.network_scan`` (inventory.lan.LanScanFacts). A part of the scan that did
not run gives ``skipped`` with the scan's reason (e.g. "needs CAP_NET_RAW") or ``not_applicable``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from checks.model import NoParams, Severity, Verdict, evaluator, msg, term
from checks.runner import MissingFact
from inventory.facts import Facts
from inventory.lan import LanHost, LanScanFacts
from inventory.report import CheckStatus, MessageParam


def _scan(facts: Facts) -> LanScanFacts:
    if facts.network_scan is None:
        raise MissingFact("network_scan (no LAN scan has run)")
    return facts.network_scan


def _not_run(scan: LanScanFacts, part: str) -> Verdict | None:
    reason = scan.skipped_reason(part)
    if reason:
        return Verdict.skipped(msg("skipped: %(reason)s", reason=reason), part=part)
    if not scan.ran(part):
        return Verdict.not_applicable(msg("the scan did not run its %(part)s part", part=part), part=part)
    return None


def _target(h: LanHost) -> str:
    return h.label


@evaluator("lan.unknown_device")
def unknown_device(facts: Facts, params: NoParams) -> list[Verdict]:
    scan = _scan(facts)
    judged = [h for h in scan.hosts if h.known is not None]
    if not judged:
        return [
            Verdict.not_applicable(
                msg("no list of known devices to compare with (the collector compares with its registry)"),
                hosts=len(scan.hosts),
            )
        ]
    out = []
    for h in judged:
        observed = {"ip": h.ip, "mac": h.mac, "vendor": h.vendor, "name": h.name}
        if h.known:
            v = Verdict.passed(
                msg(
                    "%(host)s is registered as %(known_as)s",
                    host=h.label,
                    known_as=h.known_as or term("a known device"),
                ),
                **observed,
            )
        else:
            who = ", ".join(x for x in (h.vendor, h.name) if x) or term("vendor unknown")
            v = Verdict.failed(
                msg("%(host)s (%(who)s) is on the LAN but registered nowhere", host=h.label, who=who),
                **observed,
            )
        out.append(Verdict(v.status, v.message or v.evidence, v.observed, target=_target(h)))
    return out


@evaluator("lan.rogue_dhcp")
def rogue_dhcp(facts: Facts, params: NoParams) -> list[Verdict]:
    scan = _scan(facts)
    not_run = _not_run(scan, "dhcp")
    if not_run:
        return [not_run]
    servers = scan.dhcp_servers
    if not servers:
        return [Verdict.passed(msg("no DHCP server answered the DISCOVER"), servers=0)]
    several = len(servers) > 1
    out = []
    for d in servers:
        observed = {"server_ip": d.server_ip, "mac": d.mac, "offered_ip": d.offered_ip, "router": d.router}
        label = f"{d.server_ip} ({d.mac})" if d.mac else d.server_ip
        if d.allowed is True:
            v = Verdict.passed(msg("DHCP server %(server)s is on the allow-list", server=label), **observed)
        elif d.allowed is False:
            v = Verdict.failed(
                msg(
                    "DHCP server %(server)s is not on the allow-list; it offered %(ip)s with gateway %(router)s",  # noqa: E501
                    server=label,
                    ip=d.offered_ip,
                    router=d.router or "-",
                ),
                **observed,
            )
        elif several:
            v = Verdict.failed(
                msg(
                    "%(n)s DHCP servers answer and no allow-list is configured; %(server)s offered "
                    "%(ip)s with gateway %(router)s",
                    n=len(servers),
                    server=label,
                    ip=d.offered_ip,
                    router=d.router or "-",
                ),
                **observed,
            )
        else:
            v = Verdict.passed(msg("one DHCP server answers: %(server)s", server=label), **observed)
        out.append(Verdict(v.status, v.message or v.evidence, v.observed, target=label))
    return out


@evaluator("lan.arp_conflict")
def arp_conflict(facts: Facts, params: NoParams) -> list[Verdict]:
    scan = _scan(facts)
    not_run = _not_run(scan, "arp_conflicts")
    if not_run:
        return [not_run]
    if not scan.arp_conflicts:
        return [Verdict.passed(msg("no address is claimed by more than one MAC"), hosts=len(scan.hosts))]
    out = []
    for c in scan.arp_conflicts:
        claims = ", ".join(
            f"{m} ({v})" if v else term("%(mac)s (vendor unknown)", mac=m)
            for m, v in zip(c.macs, c.vendors, strict=False)
        )
        facts_: dict[str, MessageParam] = {
            "ip": c.ip,
            "n": len(c.macs),
            "claims": claims,
            "sources": c.sources,
        }
        text = (
            msg(
                "the gateway's address %(ip)s is claimed by %(n)s MACs: %(claims)s (seen by %(sources)s)",
                **facts_,
            )
            if c.is_gateway
            else msg(
                "the address %(ip)s is claimed by %(n)s MACs: %(claims)s (seen by %(sources)s)", **facts_
            )
        )
        out.append(
            Verdict(
                CheckStatus.FAIL,
                text,
                {"ip": c.ip, "macs": c.macs, "sources": c.sources, "is_gateway": c.is_gateway},
                target=c.ip,
                # Someone answering for the gateway can read every office PC's traffic.
                severity=Severity.CRITICAL if c.is_gateway else None,
            )
        )
    return out


@evaluator("lan.gateway_mac_changed")
def gateway_mac_changed(facts: Facts, params: NoParams) -> Verdict:
    scan = _scan(facts)
    if not scan.gateway_ip or not scan.gateway_mac:
        return Verdict.not_applicable(msg("no gateway found on the scanned subnet"))
    observed = {
        "gateway_ip": scan.gateway_ip,
        "mac": scan.gateway_mac,
        "previous_mac": scan.previous_gateway_mac,
    }
    changed = scan.gateway_mac_changed
    if changed is None:
        v = Verdict.not_applicable(
            msg("first scan of gateway %(ip)s: nothing to compare with", ip=scan.gateway_ip), **observed
        )
    elif changed:
        v = Verdict.failed(
            msg(
                "gateway %(ip)s answered from %(mac)s; the last scan saw %(previous_mac)s",
                ip=scan.gateway_ip,
                mac=scan.gateway_mac,
                previous_mac=scan.previous_gateway_mac,
            ),
            **observed,
        )
    else:
        v = Verdict.passed(
            msg("gateway %(ip)s keeps MAC %(mac)s", ip=scan.gateway_ip, mac=scan.gateway_mac), **observed
        )
    return Verdict(v.status, v.message or v.evidence, v.observed, target=scan.gateway_ip)


class RiskyServiceParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    service: str = Field(min_length=1)
    ports: list[int] = Field(min_length=1)


@evaluator("lan.risky_service", params=RiskyServiceParams)
def risky_service(facts: Facts, params: RiskyServiceParams) -> list[Verdict]:
    scan = _scan(facts)
    not_run = _not_run(scan, "services")
    if not_run:
        return [not_run]
    probed = [p for p in params.ports if p in scan.ports]
    if not probed:
        return [
            Verdict.not_applicable(
                msg("ports %(ports)s were not in the scan's port list", ports=str(params.ports))
            )
        ]
    if not scan.hosts:
        return [Verdict.passed("no hosts found on the scanned subnet")]
    out = []
    for h in scan.hosts:
        open_ports = [p for p in probed if p in h.open_ports]
        observed = {"ip": h.ip, "mac": h.mac, "vendor": h.vendor, "open_ports": open_ports}
        if open_ports:
            v = Verdict.failed(
                msg(
                    "%(service)s open on %(host)s (TCP %(ports)s)",
                    service=params.service,
                    host=h.label,
                    ports=", ".join(map(str, open_ports)),
                ),
                **observed,
            )
        else:
            v = Verdict.passed(
                msg("%(service)s not open on %(host)s", service=params.service, host=h.label), **observed
            )
        out.append(Verdict(v.status, v.message or v.evidence, v.observed, target=_target(h)))
    return out


class SnmpParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    communities: list[str] = Field(default_factory=lambda: ["public", "private"], min_length=1)


@evaluator("lan.snmp_default_community", params=SnmpParams)
def snmp_default_community(facts: Facts, params: SnmpParams) -> list[Verdict]:
    scan = _scan(facts)
    not_run = _not_run(scan, "snmp")
    if not_run:
        return [not_run]
    if not scan.hosts:
        return [Verdict.passed("no hosts found on the scanned subnet")]
    out = []
    for h in scan.hosts:
        answered = [a for a in h.snmp if a.community in params.communities]
        observed = {"ip": h.ip, "communities": [a.community for a in answered]}
        if answered:
            descr = next((a.sys_descr for a in answered if a.sys_descr), None)
            v = Verdict.failed(
                msg(
                    "%(host)s answers SNMP v2c with community %(communities)s (%(descr)s)",
                    host=h.label,
                    communities=" and ".join(repr(a.community) for a in answered),
                    descr=descr[:80],
                )
                if descr
                else msg(
                    "%(host)s answers SNMP v2c with community %(communities)s",
                    host=h.label,
                    communities=" and ".join(repr(a.community) for a in answered),
                ),
                sys_descr=descr,
                **observed,
            )
        else:
            v = Verdict.passed(
                msg("%(host)s does not answer the default SNMP communities", host=h.label), **observed
            )
        out.append(Verdict(v.status, v.message or v.evidence, v.observed, target=_target(h)))
    return out


class RouterAdminParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ports: list[int] = Field(default_factory=lambda: [80, 443, 8080, 8291, 8728], min_length=1)
    # MikroTik Winbox and API: only routers listen there.
    router_ports: list[int] = Field(default_factory=lambda: [8291, 8728])
    # Words in a web page title that mark a router's or modem's admin page.
    title_words: list[str] = Field(
        default_factory=lambda: [
            "router",
            "routeros",
            "mikrotik",
            "tp-link",
            "draytek",
            "vigor",
            "openwrt",
            "luci",
            "zyxel",
            "modem",
            "gateway",
            "gpon",
            "huawei",
            "zte",
            "totolink",
            "tenda",
            "netgear",
            "linksys",
        ]
    )


def _router_like(h: LanHost, params: RouterAdminParams) -> bool:
    if h.is_gateway or any(p in h.open_ports for p in params.router_ports):
        return True
    titles = " ".join((s.banner or "").lower() for s in h.services)
    return any(w in titles for w in params.title_words)


@evaluator("lan.router_admin_exposed", params=RouterAdminParams)
def router_admin_exposed(facts: Facts, params: RouterAdminParams) -> list[Verdict]:
    scan = _scan(facts)
    not_run = _not_run(scan, "services")
    if not_run:
        return [not_run]
    routers = [h for h in scan.hosts if _router_like(h, params)]
    if not routers:
        return [Verdict.not_applicable(msg("no router or gateway found on the scanned subnet"))]
    out = []
    for h in routers:
        open_ports = [p for p in params.ports if p in h.open_ports]
        titles = sorted({s.banner for s in h.services if s.banner and s.port in open_ports})
        observed = {"ip": h.ip, "mac": h.mac, "vendor": h.vendor, "open_ports": open_ports, "titles": titles}
        if open_ports:
            found = {"host": h.label, "ports": ", ".join(map(str, open_ports))}
            if titles:
                found["page"] = repr(titles[0])
            text = {
                (True, True): msg(
                    "gateway %(host)s exposes its admin interface to the LAN (TCP %(ports)s, page %(page)s)",
                    **found,
                ),
                (True, False): msg(
                    "gateway %(host)s exposes its admin interface to the LAN (TCP %(ports)s)", **found
                ),
                (False, True): msg(
                    "router %(host)s exposes its admin interface to the LAN (TCP %(ports)s, page %(page)s)",
                    **found,
                ),
                (False, False): msg(
                    "router %(host)s exposes its admin interface to the LAN (TCP %(ports)s)", **found
                ),
            }[(bool(h.is_gateway), bool(titles))]
            v = Verdict.failed(text, **observed)
        else:
            text = (
                msg("gateway %(host)s shows no admin interface to the LAN", host=h.label)
                if h.is_gateway
                else msg("router %(host)s shows no admin interface to the LAN", host=h.label)
            )
            v = Verdict.passed(text, **observed)
        out.append(Verdict(v.status, v.message or v.evidence, v.observed, target=_target(h)))
    return out
