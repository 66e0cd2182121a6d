"""Sites and devices, as the user's site scope allows."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query

from collector.api.deps import AnyUser, DbSession
from collector.api.params import Id, Offset
from collector.api.schemas import (
    CheckResultPublic,
    DeviceDetail,
    DevicePublic,
    ReportSummary,
    SitePublic,
)
from collector.models.core import Device
from collector.services import devices as svc
from collector.services.errors import NotFound

router = APIRouter(tags=["inventory"])


def _public(device: Device, codes: dict[int, str]) -> DevicePublic:
    return DevicePublic(
        site=codes.get(device.site_id, ""),
        **device.model_dump(
            include={
                "id",
                "kind",
                "hostname",
                "machine_id",
                "serial",
                "mac",
                "platform",
                "address",
                "clone_of_id",
                "first_seen_at",
                "last_report_at",
            }
        ),
    )


@router.get("/sites", response_model=list[SitePublic])
def sites(user: AnyUser, session: DbSession) -> list[SitePublic]:
    return [
        SitePublic(
            id=r.site.id or 0,
            code=r.site.code,
            name=r.site.name,
            district=r.site.district,
            device_count=r.device_count,
            last_report_at=r.last_report_at,
        )
        for r in svc.list_sites(session, scope=user.site_ids)
    ]


@router.get("/devices", response_model=list[DevicePublic])
def devices(
    user: AnyUser,
    session: DbSession,
    site: str | None = None,
    kind: str | None = None,
    q: str | None = None,
    limit: int = Query(500, ge=1, le=5000),
    offset: Offset = 0,
) -> list[DevicePublic]:
    site_id = None
    if site:
        try:
            site_id = svc.site_in_scope(session, site, scope=user.site_ids).id
        except NotFound as exc:
            raise HTTPException(404, str(exc)) from None
    codes = svc.site_codes(session)
    rows = svc.list_devices(
        session, scope=user.site_ids, site_id=site_id, kind=kind, search=q, limit=limit, offset=offset
    )
    return [_public(d, codes) for d in rows]


@router.get("/devices/{device_id}", response_model=DeviceDetail)
def device(device_id: Id, user: AnyUser, session: DbSession) -> DeviceDetail:
    try:
        d = svc.get_device(session, device_id, scope=user.site_ids)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    base = _public(d, svc.site_codes(session))
    results = [
        CheckResultPublic(
            **r.model_dump(include={"check_id", "target", "status", "evidence", "observed", "updated_at"})
        )
        for r in svc.device_results(session, device_id)
    ]
    return DeviceDetail(**base.model_dump(), facts=svc.device_facts(session, device_id), results=results)


@router.get("/devices/{device_id}/reports", response_model=list[ReportSummary])
def device_reports(
    device_id: Id, user: AnyUser, session: DbSession, limit: int = Query(100, ge=1, le=1000)
) -> list[ReportSummary]:
    try:
        svc.get_device(session, device_id, scope=user.site_ids)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    return [
        ReportSummary(
            report_id=r.report_id,
            kind=r.kind,
            collected_at=r.collected_at,
            received_at=r.received_at,
            size_bytes=r.size_bytes,
        )
        for r in svc.device_reports(session, device_id, limit=limit)
    ]
