"""GET /api/v1/sites/{code}/lan: a site's LAN as its agents' scans saw it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query

from collector.api.schemas.lan import LanHostPublic, LanScanPublic, SiteLanPublic
from collector.http.deps import AnyUser, DbSession
from collector.plugins import RouterSpec
from collector.services.devices import site_in_scope
from collector.services.errors import NotFound
from collector.services.lan import site_lan

router = APIRouter(tags=["lan"])


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
