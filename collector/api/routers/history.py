"""Change history over the API: a device's timeline, a site's changes since a date, and closing a
suspicious-change finding after checking it; all within the caller's site scope."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from collector.api.schemas.history import ChangeList, ChangePublic, ResolvedFinding, SiteChanges
from collector.http.deps import AnyUser, DbSession, StaffUser
from collector.http.params import Id, Offset
from collector.plugins import RouterSpec
from collector.services import history as svc
from collector.services.devices import get_device, site_in_scope
from collector.services.errors import NotFound, ServiceError
from collector.services.findings import resolve_by_user
from collector.services.history_text import describe

router = APIRouter(tags=["history"])

Category = Literal["hardware", "software", "os", "config"]


class ResolveRequest(BaseModel):
    note: str = Field(min_length=5, max_length=2000, description="what was checked, e.g. the repair record")


def _since(value: date | datetime | None, default: datetime) -> datetime:
    if value is None:
        return default
    if not isinstance(value, datetime):
        return datetime.combine(value, time(0), tzinfo=UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _items(page: svc.ChangePage, lang: str) -> list[ChangePublic]:
    return [
        ChangePublic(
            id=r.event.id or 0,
            at=r.event.at,
            device_id=r.event.device_id,
            hostname=r.hostname,
            site=r.site_code,
            category=r.event.category,
            kind=r.event.kind,
            action=r.event.action,
            subject=r.event.subject,
            before=r.event.before,
            after=r.event.after,
            suspicious=r.event.suspicious,
            detail=r.event.detail,
            text=describe(r.event, lang),
        )
        for r in page.rows
    ]


@router.get("/devices/{device_id}/history", response_model=ChangeList)
def device_history(
    device_id: Id,
    user: AnyUser,
    session: DbSession,
    since: date | datetime | None = Query(None, description="from this date or time (UTC when no zone)"),
    until: date | datetime | None = Query(None, description="before this date or time"),
    category: Category | None = None,
    suspicious: bool = False,
    lang: Literal["vi", "en"] = "en",
    limit: int = Query(100, ge=1, le=1000),
    offset: Offset = 0,
) -> ChangeList:
    try:
        get_device(session, device_id, scope=user.site_ids)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    page = svc.list_changes(
        session,
        scope=user.site_ids,
        device_id=device_id,
        since=_since(since, datetime.min.replace(tzinfo=UTC)) if since else None,
        until=_since(until, datetime.max.replace(tzinfo=UTC)) if until else None,
        category=category,
        suspicious_only=suspicious,
        limit=limit,
        offset=offset,
    )
    return ChangeList(total=page.total, items=_items(page, lang))


@router.get("/sites/{code}/changes", response_model=SiteChanges)
def site_changes(
    code: str,
    user: AnyUser,
    session: DbSession,
    since: date | datetime | None = Query(None, description="from this date or time; default: 7 days ago"),
    category: Category | None = None,
    suspicious: bool = False,
    lang: Literal["vi", "en"] = "en",
    limit: int = Query(200, ge=1, le=1000),
    offset: Offset = 0,
) -> SiteChanges:
    try:
        site = site_in_scope(session, code, scope=user.site_ids)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    start = _since(since, svc.week_start())
    page = svc.list_changes(
        session,
        scope=user.site_ids,
        site_id=site.id,
        since=start,
        category=category,
        suspicious_only=suspicious,
        limit=limit,
        offset=offset,
    )
    return SiteChanges(
        site=site.code,
        since=start,
        counts=svc.change_counts(session, site_id=site.id or 0, since=start),
        total=page.total,
        items=_items(page, lang),
    )


@router.post("/findings/{finding_id}/resolve", response_model=ResolvedFinding)
def resolve_finding(
    finding_id: Id, body: ResolveRequest, user: StaffUser, session: DbSession
) -> ResolvedFinding:
    try:
        finding = resolve_by_user(
            session, finding_id=finding_id, scope=user.site_ids, actor=user.username, note=body.note
        )
    except ServiceError as exc:
        raise HTTPException(exc.status_code, str(exc)) from None
    session.commit()
    return ResolvedFinding(id=finding.id or 0, status=finding.status, resolved_at=finding.resolved_at)


PLUGIN = RouterSpec(router)
