"""Findings pages: the list with filters, one finding with its evidence history and the accept-risk
form, and the compliance figure on the site and device pages (site_extras/ and device_extras/)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response

from collector.api.deps import AnyUser, DbSession, Principal, StaffUser
from collector.api.params import Id
from collector.models.core import Device, Site
from collector.models.findings import FindingStatus
from collector.services import findings as svc
from collector.services.devices import list_sites, site_in_scope
from collector.services.errors import NotFound, ServiceError
from collector.web.setup import flash, redirect, render, translator_for

router = APIRouter(include_in_schema=False)

ALL_ROLES = ("admin", "technician", "inspector", "planner", "viewer")
NAV = [(30, "Findings", "/findings", ALL_ROLES)]
PAGE_SIZE = 200


def _site_context(session: Any, site: Site, principal: Principal) -> dict[str, Any]:
    return {
        "compliance": svc.site_compliance(session, site_id=site.id or 0),
        "findings_open": svc.finding_counts(session, scope=principal.site_ids, site_id=site.id),
        "findings_link": "/findings?" + urlencode({"site": site.code, "status": "open"}),
    }


def _device_context(session: Any, device: Device, principal: Principal) -> dict[str, Any]:
    return {
        "compliance": svc.device_compliance(session, device_id=device.id or 0),
        "device_findings": svc.list_findings(
            session, scope=principal.site_ids, device_id=device.id, status="open", limit=50
        ),
        "findings_link": "/findings?" + urlencode({"device": device.id, "status": "open"}),
    }


# The site and device pages merge these into their context for templates/*_extras/findings.html.
SITE_CONTEXT = [_site_context]
DEVICE_CONTEXT = [_device_context]


@router.get("/findings")
def findings_page(
    request: Request,
    user: AnyUser,
    session: DbSession,
    site: str | None = None,
    device: str | None = None,
    severity: str | None = None,
    status: str | None = "open",
    check: str | None = None,
    page: int = 1,
) -> Response:
    filters = {
        "site": (site or "").strip(),
        "device": (device or "").strip(),
        "severity": severity or "",
        "status": status or "",
        "check": (check or "").strip(),
    }
    site_id = None
    if filters["site"]:
        try:
            site_id = site_in_scope(session, filters["site"], scope=user.site_ids).id
        except NotFound:
            raise HTTPException(404) from None
    device_id = int(filters["device"]) if filters["device"].isdigit() else None
    page = max(1, page)
    try:
        rows = svc.list_findings(
            session,
            scope=user.site_ids,
            site_id=site_id,
            device_id=device_id,
            severity=filters["severity"] or None,
            status=filters["status"] or None,
            check_id=filters["check"] or None,
            limit=PAGE_SIZE + 1,
            offset=(page - 1) * PAGE_SIZE,
        )
    except ServiceError:
        raise HTTPException(400) from None
    context = {
        "rows": rows[:PAGE_SIZE],
        "more": len(rows) > PAGE_SIZE,
        "page": page,
        "filters": filters,
        "query": urlencode({k: v for k, v in filters.items() if v}),
        "sites": [r.site for r in list_sites(session, scope=user.site_ids)],
        "severities": svc.SEVERITIES,
        "statuses": [s.value for s in FindingStatus],
    }
    return render(request, "findings.html", context)


def _finding_context(session: Any, finding_id: int, user: Principal) -> dict[str, Any]:
    try:
        finding = svc.get_finding(session, finding_id, scope=user.site_ids)
    except NotFound:
        raise HTTPException(404) from None
    row = svc.finding_row(session, finding)
    return {
        "row": row,
        "f": finding,
        "check": row.check,
        "history": svc.finding_history(session, finding_id),
        "can_accept": user.role in ("admin", "technician") and row.status != FindingStatus.RESOLVED,
        "default_until": date.today() + timedelta(days=90),
    }


@router.get("/findings/{finding_id}")
def finding_page(request: Request, finding_id: Id, user: AnyUser, session: DbSession) -> Response:
    return render(request, "findings_detail.html", _finding_context(session, finding_id, user))


@router.post("/findings/{finding_id}/accept")
def accept_form(
    request: Request,
    finding_id: Id,
    user: StaffUser,
    session: DbSession,
    reason: str = Form("", max_length=2000),
    until: str = Form("", max_length=32),
) -> Response:
    _ = translator_for(request)
    back = f"/findings/{finding_id}"
    try:
        day = date.fromisoformat(until.strip())
    except ValueError:
        return flash(redirect(back), _("Give the date until which the risk is accepted."), "error")
    try:
        svc.accept_risk(
            session,
            finding_id=finding_id,
            scope=user.site_ids,
            actor=user.username,
            reason=reason,
            until=datetime.combine(day, time(23, 59, 59), tzinfo=UTC),
        )
    except NotFound:
        raise HTTPException(404) from None
    except ServiceError as exc:
        return flash(redirect(back), _(str(exc)), "error")
    session.commit()
    message = _("The risk was accepted until %(date)s.", date=day.strftime("%d/%m/%Y"))
    return flash(redirect(back), message, "ok")
