"""Findings and compliance over the API, within the caller's site scope."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, BeforeValidator, Field

from collector.api.deps import AnyUser, DbSession, StaffUser
from collector.api.params import Id, Offset, OptionalIdQuery, iso_text
from collector.models.findings import FindingEvent
from collector.services import findings as svc
from collector.services.devices import site_in_scope
from collector.services.errors import NotFound, ServiceError

router = APIRouter(tags=["findings"])


class FindingPublic(BaseModel):
    id: int
    site: str
    device_id: int
    hostname: str
    check_id: str
    target: str
    known: bool  # False: a check id the collector's catalog does not know ("unknown")
    title: dict[str, str] | None
    severity: str
    status: str  # open, accepted, resolved (an expired acceptance reads as open)
    overdue: bool
    evidence: str
    first_seen_at: datetime
    last_seen_at: datetime
    opened_at: datetime
    due_at: datetime | None
    resolved_at: datetime | None
    reopen_count: int
    accepted_by: str | None
    accepted_until: datetime | None
    accepted_reason: str | None


class FindingEventPublic(BaseModel):
    at: datetime
    kind: str
    status: str
    severity: str | None
    evidence: str
    actor: str | None
    report_id: str | None
    note: str | None


class FindingDetail(FindingPublic):
    observed: dict[str, Any] | None
    rationale: dict[str, str] | None
    remediation: dict[str, str] | None
    references: list[str]
    history: list[FindingEventPublic]


class AcceptRequest(BaseModel):
    reason: str = Field(min_length=5, max_length=2000)
    # A date means the end of that day (UTC); a datetime needs its time zone.
    until: Annotated[datetime | date, BeforeValidator(iso_text)]


class ComplianceFigures(BaseModel):
    passed: int
    failed: int
    not_counted: int  # not_applicable, skipped and error results: left out of the score
    score: float | None  # passed / (passed + failed); None when nothing was judged
    percent: int | None


class DeviceCompliance(ComplianceFigures):
    device_id: int
    hostname: str


class SiteCompliance(ComplianceFigures):
    site: str
    name: str
    devices: list[DeviceCompliance]


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
        "title": row.check.title.model_dump() if row.check else None,
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
    user: AnyUser,
    session: DbSession,
    site: str | None = None,
    device: OptionalIdQuery = None,
    severity: Literal["critical", "high", "medium", "low", "info"] | None = None,
    status: Literal["open", "accepted", "resolved"] | None = None,
    check: str | None = None,
    limit: int = Query(500, ge=1, le=5000),
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    site_id = _site_id(session, site, user.site_ids)
    try:
        rows = svc.list_findings(
            session,
            scope=user.site_ids,
            site_id=site_id,
            device_id=device,
            severity=severity,
            status=status,
            check_id=check,
            limit=limit,
            offset=offset,
        )
    except ServiceError as exc:
        raise HTTPException(exc.status_code, str(exc)) from None
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
        "rationale": check.rationale.model_dump() if check else None,
        "remediation": check.remediation.model_dump() if check else None,
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
        until = datetime.combine(until, time(23, 59, 59), tzinfo=UTC)
    elif until.tzinfo is None:
        # A bare date arrives as midnight: it means "until the end of that day"; other times are UTC.
        end = time(23, 59, 59) if until.time() == time(0) else until.time()
        until = datetime.combine(until.date(), end, tzinfo=UTC)
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
