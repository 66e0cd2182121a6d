"""Sites and devices, as the user's site scope allows."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, Request, Response

from collector.api.paging import bad_request, set_page_headers, sort_query
from collector.api.schemas import (
    CheckResultPublic,
    DeviceDetail,
    DevicePublic,
    QuarantinedReportPublic,
    QuarantinePublic,
    ReportSummary,
    SitePublic,
)
from collector.http.deps import AnyUser, DbSession, Settings
from collector.http.params import Id, OptionalIdQuery
from collector.models.core import Device
from collector.plugins import RouterSpec
from collector.services import devices as svc
from collector.services.errors import NotFound, ServiceError
from collector.services.quarantine import device_quarantine
from collector.services.tables import base as tables
from collector.services.tables.devices import TABLE as DEVICES

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
def sites(
    request: Request,
    response: Response,
    user: AnyUser,
    session: DbSession,
    sort: str | None = Query(
        None, pattern=r"^\s*[-+]*(code|name)\s*$", description="code, name; -x: descending"
    ),
    cursor: str | None = Query(None, description="X-Next-Cursor of the previous page."),
    limit: int = Query(1000, ge=1, le=1000),
) -> list[SitePublic]:
    """Sites in keyset pages by code: follow ``X-Next-Cursor`` (or the ``Link`` header) for the next one."""
    try:
        page = svc.page_sites(session, scope=user.site_ids, sort=sort, cursor=cursor, limit=limit)
    except ServiceError as exc:
        raise bad_request(exc) from None
    set_page_headers(request, response, page)
    return [
        SitePublic(
            id=r.site.id or 0,
            code=r.site.code,
            name=r.site.name,
            group=r.site.group_name,
            device_count=r.device_count,
            last_report_at=r.last_report_at,
        )
        for r in page.rows
    ]


@router.get("/devices", response_model=list[DevicePublic])
def devices(
    request: Request,
    response: Response,
    user: AnyUser,
    session: DbSession,
    settings: Settings,
    site: str | None = Query(None, description="Site code; another site's answers 404."),
    group: str | None = Query(None, description="Only the sites with this group label."),
    kind: str | None = Query(None, description="host or network_device"),
    q: str | None = Query(None, description="Hostname or serial (part of), MAC, IP or its first octets."),
    software: str | None = Query(None, description="A program name, or name OP version: winrar<6.23"),
    package: OptionalIdQuery = None,
    silent: bool = Query(False, description="Only devices silent longer than the stale threshold."),
    sort: str | None = sort_query(DEVICES),
    cursor: str | None = Query(None, description="X-Next-Cursor of the previous page."),
    limit: int = Query(500, ge=1, le=1000),
) -> list[DevicePublic]:
    """Devices in keyset pages: follow ``X-Next-Cursor`` (or the ``Link`` header) for the next one."""
    raw = {
        "site": site,
        "group": group,
        "kind": kind,
        "q": q,
        "software": software,
        "package": str(package) if package is not None else None,
        "silent": "yes" if silent else None,
    }
    try:
        filters = DEVICES.clean(raw)
        page = tables.raw_page(
            session,
            DEVICES,
            scope=user.site_ids,
            filters=filters,
            sort=sort,
            cursor=cursor,
            limit=limit,
            options={"stale_minutes": settings.stale_agent_minutes},
        )
    except ServiceError as exc:
        raise bad_request(exc) from None
    set_page_headers(request, response, page)
    return [_public(d, {site_row.id or 0: site_row.code}) for d, site_row in page.rows]


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
    held = device_quarantine(session, device_id=device_id)
    return DeviceDetail(
        **base.model_dump(),
        facts=svc.device_facts(session, device_id),
        results=results,
        quarantine=QuarantinePublic(
            count=held.count,
            reported_at=held.reported_at,
            recent=[QuarantinedReportPublic(**r.model_dump()) for r in held.recent],
        )
        if held
        else None,
    )


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


PLUGIN = RouterSpec(router)
