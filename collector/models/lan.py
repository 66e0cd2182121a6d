"""A site's LAN as its agents' scans saw it: the scans, and every host with first and last seen.

``LanHost`` is keyed per site by MAC (an address that moves under DHCP stays the same host) or, for a
host seen without a MAC (a routed scan), by IP. ``LanScan`` keeps each scan's summary, a compact
snapshot of its hosts and its differences from the previous scan of the same subnet.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from collector.models.types import json_field, ts_field


class LanScan(SQLModel, table=True):
    __tablename__ = "lan_scan"

    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id", index=True, ondelete="CASCADE")
    device_id: int | None = Field(default=None, foreign_key="device.id", index=True, ondelete="SET NULL")
    report_id: str = Field(max_length=36, index=True)
    cidr: str = Field(max_length=255)
    interface: str | None = Field(default=None, max_length=64)
    privileged: bool = False
    started_at: datetime | None = ts_field(nullable=True)
    finished_at: datetime | None = ts_field(nullable=True)
    received_at: datetime = ts_field(index=True)
    hosts_count: int = 0
    unknown_count: int = 0
    gateway_ip: str | None = Field(default=None, max_length=45)
    gateway_mac: str | None = Field(default=None, max_length=32)
    previous_gateway_mac: str | None = Field(default=None, max_length=32)
    dhcp_servers: list[dict[str, Any]] = json_field(default_factory=list)
    arp_conflicts: list[dict[str, Any]] = json_field(default_factory=list)
    skipped: list[dict[str, Any]] = json_field(default_factory=list)
    # key -> {ip, mac, vendor, known, ports}: what the next scan is compared with.
    snapshot: dict[str, Any] = json_field(default_factory=dict)
    # {"added": [...], "removed": [...], "changed": [...]}, each item {key, ip, mac, ...}.
    changes: dict[str, Any] = json_field(default_factory=dict)
    previous_scan_id: int | None = Field(default=None, foreign_key="lan_scan.id", ondelete="SET NULL")


class LanHost(SQLModel, table=True):
    __tablename__ = "lan_host"
    __table_args__ = (UniqueConstraint("site_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id", index=True, ondelete="CASCADE")
    key: str = Field(max_length=64)  # "mac:<mac>" or "ip:<ip>"
    ip: str = Field(max_length=45)
    mac: str | None = Field(default=None, max_length=32, index=True)
    vendor: str | None = Field(default=None, max_length=255)
    name: str | None = Field(default=None, max_length=255)
    known: bool | None = None
    known_as: str | None = Field(default=None, max_length=255)
    known_device_id: int | None = Field(default=None, foreign_key="device.id", ondelete="SET NULL")
    is_gateway: bool = False
    open_ports: list[int] = json_field(default_factory=list)
    snmp_communities: list[str] = json_field(default_factory=list)
    banners: list[str] = json_field(default_factory=list)
    first_seen_at: datetime = ts_field()
    last_seen_at: datetime = ts_field(index=True)
    last_scan_id: int | None = Field(default=None, foreign_key="lan_scan.id", ondelete="SET NULL")
    # False once a later scan of its subnet no longer finds it (kept, with its last sighting).
    present: bool = True
