"""Answers of the lan routes (``collector/api/routers/lan.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class LanHostPublic(BaseModel):
    ip: str
    mac: str | None
    vendor: str | None
    name: str | None
    known: bool | None
    known_as: str | None
    is_gateway: bool
    open_ports: list[int]
    snmp_communities: list[str]
    present: bool  # found by the latest scan of its subnet
    first_seen_at: datetime
    last_seen_at: datetime


class LanScanPublic(BaseModel):
    id: int
    scanned_by: str | None
    cidr: str
    interface: str | None
    privileged: bool
    started_at: datetime | None
    finished_at: datetime | None
    received_at: datetime
    hosts_count: int
    unknown_count: int
    gateway_ip: str | None
    gateway_mac: str | None
    previous_gateway_mac: str | None
    dhcp_servers: list[dict[str, Any]]
    arp_conflicts: list[dict[str, Any]]
    skipped: list[dict[str, Any]]
    changes: dict[str, Any]  # since the previous scan of the same subnet: added, removed, changed


class SiteLanPublic(BaseModel):
    site: str
    latest_scan: LanScanPublic | None
    hosts: list[LanHostPublic]
    scans: list[LanScanPublic]
