"""A LAN scan: hosts discovered, DHCP servers, ARP observations, risky services.

Filled in by ``agent.lan`` (one scan of one subnet) and judged by ``checks.evaluators.lan``.
Every field has a default so that older agents, which omit newer fields, still validate.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from inventory.base import FactModel

# The parts of a scan, as named in ``LanScanFacts.parts_run`` and ``LanScanFacts.skipped``.
LanPart = Literal["discovery", "dhcp", "arp_conflicts", "passive", "services", "snmp", "dns", "http"]

NEEDS_NET_RAW = "needs CAP_NET_RAW"


class ServiceProbe(FactModel):
    """One port probed on one host. ``method``: ``syn`` (raw SYN), ``connect`` (TCP connect), ``snmp``."""

    port: int = Field(ge=0, le=65535)
    protocol: Literal["tcp", "udp"] = "tcp"
    state: Literal["open", "closed", "filtered"] = "open"
    method: str = "syn"
    banner: str | None = None  # e.g. an HTTP page title; never credentials


class SnmpAnswer(FactModel):
    """A host that answered an SNMP v2c get with a well-known community (``public``/``private``)."""

    community: str
    sys_descr: str | None = None


class LanHost(FactModel):
    ip: str
    mac: str | None = None  # lower case, colon separated
    vendor: str | None = None  # from the MAC's IEEE OUI
    mac_locally_administered: bool | None = None  # randomised phone MACs, virtual machines
    name: str | None = None  # reverse DNS, where cheap
    # True: matches a known device (agent config or the collector's registry); False: nobody
    # registered it; None: no known-device list to compare with.
    known: bool | None = None
    known_as: str | None = None
    is_gateway: bool = False
    # How the host was seen: arp (sweep reply), neighbour (OS table), connect (a TCP answer), passive.
    seen_by: list[str] = Field(default_factory=list)
    services: list[ServiceProbe] = Field(default_factory=list)
    snmp: list[SnmpAnswer] = Field(default_factory=list)

    @property
    def open_ports(self) -> list[int]:
        return sorted({s.port for s in self.services if s.state == "open" and s.protocol == "tcp"})

    @property
    def label(self) -> str:
        """How a result names this host: ``198.18.0.20 (aa:bb:cc:dd:ee:ff)``."""
        return f"{self.ip} ({self.mac})" if self.mac else self.ip


class DhcpServer(FactModel):
    """A DHCP server that answered our DISCOVER with an OFFER."""

    server_ip: str  # option 54 (server identifier), else the packet's source address
    mac: str | None = None
    vendor: str | None = None
    offered_ip: str | None = None
    router: str | None = None
    dns: list[str] = Field(default_factory=list)
    offers: int = 1
    # True/False: compared with the allow-list; None: no allow-list configured.
    allowed: bool | None = None


class ArpConflict(FactModel):
    """Several MACs claiming one IPv4 address: a duplicate address or ARP spoofing."""

    ip: str
    macs: list[str] = Field(default_factory=list)
    vendors: list[str | None] = Field(default_factory=list)
    # Where each claim was seen: "probe" (replies to our ARP requests), "passive" (listening window).
    sources: list[str] = Field(default_factory=list)
    is_gateway: bool = False


class SkippedPart(FactModel):
    part: str
    reason: str  # e.g. "needs CAP_NET_RAW"


class LanScanFacts(FactModel):
    """One scan of one subnet, as the agent saw it."""

    cidr: str | None = None
    interface: str | None = None
    source_ip: str | None = None
    source_mac: str | None = None
    privileged: bool = False  # CAP_NET_RAW held: raw ARP/SYN/DHCP parts ran
    started_at: datetime | None = None
    finished_at: datetime | None = None
    packets_per_second: int | None = None
    ports: list[int] = Field(default_factory=list)  # TCP ports probed on every live host
    parts_run: list[str] = Field(default_factory=list)
    skipped: list[SkippedPart] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)

    hosts: list[LanHost] = Field(default_factory=list)
    known_devices_configured: bool = False

    gateway_ip: str | None = None
    gateway_mac: str | None = None
    # The gateway's MAC in the previous scan of the same subnet (from the agent's state dir).
    previous_gateway_mac: str | None = None

    dhcp_servers: list[DhcpServer] = Field(default_factory=list)
    dhcp_allow_list: list[str] = Field(default_factory=list)  # IPs or MACs of permitted servers
    dhcp_window_seconds: float | None = None

    arp_conflicts: list[ArpConflict] = Field(default_factory=list)
    passive_window_seconds: float | None = None

    def skipped_reason(self, part: str) -> str | None:
        for s in self.skipped:
            if s.part == part:
                return s.reason
        return None

    def ran(self, part: str) -> bool:
        return part in self.parts_run

    @property
    def gateway_mac_changed(self) -> bool | None:
        if not self.gateway_mac or not self.previous_gateway_mac:
            return None
        return self.gateway_mac.lower() != self.previous_gateway_mac.lower()

    def host(self, ip: str) -> LanHost | None:
        return next((h for h in self.hosts if h.ip == ip), None)
