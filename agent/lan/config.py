"""LAN scanning: interface or CIDR, ports, rate limit, safety caps.

The agent's TOML has a ``[lan]`` table for it, e.g.::

    [lan]
    interface = "eth0"                 # or cidrs = ["192.168.1.0/24"]
    interval_seconds = 86400           # scan once a day; unset: only `wardwatch agent scan`
    dhcp_allow_list = ["192.168.1.1"]
    known_devices = [{ mac = "00:0c:42:aa:bb:cc", name = "router" }]
"""

from __future__ import annotations

import ipaddress

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from inventory.oui import normalize_mac

DEFAULT_PORTS = [21, 23, 80, 443, 445, 3389, 5900, 8080, 8291, 8728]


class KnownDevice(BaseModel):
    """A device the office registered: matched by MAC (preferred) or by IP."""

    model_config = ConfigDict(extra="forbid")
    mac: str | None = None
    ip: str | None = None
    name: str | None = None

    @field_validator("mac")
    @classmethod
    def _mac(cls, v: str | None) -> str | None:
        return normalize_mac(v) if v else v

    @field_validator("ip")
    @classmethod
    def _ip(cls, v: str | None) -> str | None:
        return str(ipaddress.IPv4Address(v)) if v else v

    @model_validator(mode="after")
    def _one_key(self) -> KnownDevice:
        if not self.mac and not self.ip:
            raise ValueError("a known device needs a mac or an ip")
        return self


class LanConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # What to scan: the subnet of this interface (default: the interface of the default route),
    # or these CIDRs. Only private ranges unless allow_public; never larger than /max_prefix.
    interface: str | None = None
    cidrs: list[str] = Field(default_factory=list)
    allow_public: bool = False
    max_prefix: int = Field(default=22, ge=8, le=32)
    ports: list[int] = Field(default_factory=lambda: list(DEFAULT_PORTS))
    packets_per_second: int = Field(default=1000, ge=1, le=20000)
    # Seconds: how long to wait for ARP replies after the last request, for TCP answers, for DHCP
    # OFFERs, and to listen passively for ARP claims.
    reply_wait: float = Field(default=0.4, gt=0, le=10)
    probe_timeout: float = Field(default=1.0, gt=0, le=10)
    # 5 s: dnsmasq and ISC dhcpd ping an address (about 3 s) before they offer it.
    dhcp_window: float = Field(default=5.0, ge=0, le=60)
    passive_window: float = Field(default=5.0, ge=0, le=600)
    dhcp_allow_list: list[str] = Field(default_factory=list)
    known_devices: list[KnownDevice] = Field(default_factory=list)
    snmp: bool = True
    reverse_dns: bool = True
    # The agent cycle scans only when this is set (seconds between scans); never at start-up otherwise.
    interval_seconds: int | None = Field(default=None, ge=600)
    # A scan that takes longer than this is stopped (the child process is killed).
    max_seconds: float = Field(default=300, gt=0)

    @field_validator("cidrs")
    @classmethod
    def _cidrs(cls, v: list[str]) -> list[str]:
        out = []
        for c in v:
            try:
                out.append(str(ipaddress.IPv4Network(c, strict=False)))
            except ValueError as exc:
                raise ValueError(f"lan.cidrs: {c!r} is not an IPv4 network ({exc})") from exc
        return out

    @field_validator("ports")
    @classmethod
    def _ports(cls, v: list[int]) -> list[int]:
        bad = [p for p in v if not 1 <= p <= 65535]
        if bad:
            raise ValueError(f"lan.ports: not TCP ports: {bad}")
        return sorted(set(v))

    @field_validator("dhcp_allow_list")
    @classmethod
    def _allow(cls, v: list[str]) -> list[str]:
        out = []
        for item in v:
            try:
                out.append(str(ipaddress.IPv4Address(item)))
            except ValueError:
                try:
                    out.append(normalize_mac(item))
                except ValueError:
                    raise ValueError(f"lan.dhcp_allow_list: {item!r} is neither an IPv4 nor a MAC") from None
        return out
