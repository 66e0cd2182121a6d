"""Findings and compliance over the API, within the caller's site scope."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import BaseModel, BeforeValidator, Field
from sqlmodel import col, select

from checks.catalog import load_catalog
from collector.api.paging import set_page_headers, sort_query
from collector.api.schemas.findings import (
    FindingDetail,
    FindingPublic,
    SiteCompliance,
)
from collector.http.deps import AnyUser, DbSession, StaffUser
from collector.http.params import Id, OptionalIdQuery, iso_text
from collector.i18n import localized
from collector.localtime import LOCAL_TZ, end_of_day
from collector.models.core import Device, Site
from collector.models.findings import FindingEvent
from collector.models.types import utcnow
from collector.plugins import RouterSpec
from collector.services import findings as svc
from collector.services.devices import site_in_scope
from collector.services.errors import NotFound, ServiceError
from collector.services.tables import base as tables
from collector.services.tables.findings import TABLE as FINDINGS

router = APIRouter(tags=["findings"])


class AcceptRequest(BaseModel):
    reason: str = Field(min_length=5, max_length=2000)
    # A date means the end of that day in Vietnam time; a datetime without a zone is Vietnam time too.
    until: Annotated[datetime | date, BeforeValidator(iso_text)]


def _public(row: svc.FindingRow) -> dict[str, Any]:
    f = row.finding
    return {
        **f.model_dump(
            include={
                "id",
                "device_id",
                "check_id",
                "target",
                "known",
                "severity",
                "evidence",
                "first_seen_at",
                "last_seen_at",
                "opened_at",
                "due_at",
                "resolved_at",
                "reopen_count",
                "accepted_by",
                "accepted_until",
                "accepted_reason",
            }
        ),
        "site": row.site_code,
        "hostname": row.hostname,
        "title": localized(row.check.title) if row.check else None,
        "status": row.status,
        "overdue": row.overdue,
    }


def _site_id(session: Any, code: str | None, scope: Any) -> int | None:
    if not code:
        return None
    try:
        return site_in_scope(session, code, scope=scope).id
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None


@router.get("/findings", response_model=list[FindingPublic])
def list_findings(
    request: Request,
    response: Response,
    user: AnyUser,
    session: DbSession,
    site: str | None = None,
    group: str | None = None,
    device: OptionalIdQuery = None,
    severity: Literal["critical", "high", "medium", "low", "info"] | None = None,
    status: Literal["open", "accepted", "resolved"] | None = Query(
        None, description="open, accepted or resolved (default: every status)"
    ),
    check: str | None = None,
    q: str | None = Query(None, description="Text in the check id, evidence, target or hostname."),
    sort: str | None = sort_query(FINDINGS),
    cursor: str | None = Query(None, description="X-Next-Cursor of the previous page."),
    limit: int = Query(500, ge=1, le=1000),
) -> list[dict[str, Any]]:
    """Findings in keyset pages, most severe first; follow ``X-Next-Cursor`` for the next page."""
    raw = {
        "site": site,
        "group": group,
        "device": str(device) if device is not None else None,
        "severity": severity,
        "status": status or "",
        "check": check,
        "q": q,
    }
    now = utcnow()
    try:
        filters = FINDINGS.clean(raw)
        page = tables.raw_page(
            session,
            FINDINGS,
            scope=user.site_ids,
            filters=filters,
            sort=sort,
            cursor=cursor,
            limit=limit,
            now=now,
        )
    except ServiceError as exc:
        raise HTTPException(exc.status_code, str(exc)) from None
    set_page_headers(request, response, page)
    catalog = load_catalog()
    hostnames = dict(
        session.exec(
            select(Device.id, Device.hostname).where(col(Device.id).in_({f.device_id for f in page.rows}))
        ).all()
    )
    codes = dict(
        session.exec(select(Site.id, Site.code).where(col(Site.id).in_({f.site_id for f in page.rows}))).all()
    )
    rows = []
    for finding in page.rows:
        st = svc.effective_status(finding, now)
        rows.append(
            svc.FindingRow(
                finding=finding,
                status=st,
                site_code=codes.get(finding.site_id, ""),
                hostname=hostnames.get(finding.device_id, ""),
                check=catalog.get(finding.check_id),
                overdue=st == "open" and finding.due_at is not None and finding.due_at < now,
            )
        )
    return [_public(r) for r in rows]


def _detail(session: Any, finding_id: int, scope: Any) -> dict[str, Any]:
    try:
        finding = svc.get_finding(session, finding_id, scope=scope)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    row = svc.finding_row(session, finding)
    check = row.check
    history: list[FindingEvent] = svc.finding_history(session, finding_id)
    return {
        **_public(row),
        "observed": finding.observed,
        "rationale": localized(check.rationale) if check else None,
        "remediation": localized(check.remediation) if check else None,
        "references": list(check.references) if check else [],
        "history": [e.model_dump() for e in history],
    }


@router.get("/findings/{finding_id}", response_model=FindingDetail)
def get_finding(finding_id: Id, user: AnyUser, session: DbSession) -> dict[str, Any]:
    return _detail(session, finding_id, user.site_ids)


@router.post("/findings/{finding_id}/accept", response_model=FindingDetail)
def accept_finding(
    finding_id: Id, body: AcceptRequest, user: StaffUser, session: DbSession
) -> dict[str, Any]:
    until = body.until
    if not isinstance(until, datetime):
        until = end_of_day(until)
    elif until.tzinfo is None:
        # A bare date arrives as midnight: it means "until the end of that day"; other times are local.
        until = end_of_day(until.date()) if until.time() == time(0) else until.replace(tzinfo=LOCAL_TZ)
    try:
        svc.accept_risk(
            session,
            finding_id=finding_id,
            scope=user.site_ids,
            actor=user.username,
            reason=body.reason,
            until=until,
        )
    except ServiceError as exc:
        raise HTTPException(exc.status_code, str(exc)) from None
    session.commit()
    return _detail(session, finding_id, user.site_ids)


@router.get("/sites/{code}/compliance", response_model=SiteCompliance)
def site_compliance(code: str, user: AnyUser, session: DbSession) -> dict[str, Any]:
    try:
        site = site_in_scope(session, code, scope=user.site_ids)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    c = svc.site_compliance(session, site_id=site.id or 0)
    from collector.services.devices import list_devices

    devices = list_devices(session, scope=user.site_ids, site_id=site.id, limit=100000)
    per = [
        {
            "device_id": d.id,
            "hostname": d.hostname,
            **c.per_device.get(d.id or 0, svc.Compliance()).as_dict(),
        }
        for d in devices
    ]
    return {"site": site.code, "name": site.name, **c.as_dict(), "devices": per}


PLUGIN = RouterSpec(router)
