"""GET /api/v1/sites/{code}/lan: a site's LAN as its agents' scans saw it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel

from collector.http.deps import AnyUser, DbSession
from collector.plugins import RouterSpec
from collector.services.devices import site_in_scope
from collector.services.errors import NotFound
from collector.services.lan import site_lan

router = APIRouter(tags=["lan"])


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


@router.get("/sites/{code}/lan", response_model=SiteLanPublic)
def lan(
    code: str,
    user: AnyUser,
    session: DbSession,
    include_absent: bool = Query(True, description="Also hosts the latest scan no longer found."),
) -> SiteLanPublic:
    try:
        site = site_in_scope(session, code, scope=user.site_ids)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    data = site_lan(session, site)

    def scan(s: Any) -> LanScanPublic:
        return LanScanPublic(
            id=s.id or 0,
            scanned_by=data.scanners.get(s.device_id) if s.device_id else None,
            **s.model_dump(
                include={
                    "cidr",
                    "interface",
                    "privileged",
                    "started_at",
                    "finished_at",
                    "received_at",
                    "hosts_count",
                    "unknown_count",
                    "gateway_ip",
                    "gateway_mac",
                    "previous_gateway_mac",
                    "dhcp_servers",
                    "arp_conflicts",
                    "skipped",
                    "changes",
                }
            ),
        )

    hosts = [h for h in data.hosts if include_absent or h.present]
    return SiteLanPublic(
        site=site.code,
        latest_scan=scan(data.latest) if data.latest else None,
        hosts=[LanHostPublic(**h.model_dump(include=set(LanHostPublic.model_fields))) for h in hosts],
        scans=[scan(s) for s in data.scans],
    )


PLUGIN = RouterSpec(router)
