"""Findings pages: the list with filters, one finding with its evidence history and the accept-risk
form, and the compliance figure on the site and device pages (site_extras/ and device_extras/)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response

from collector.http.deps import AnyUser, DbSession, Principal, StaffUser
from collector.http.params import Id
from collector.localtime import end_of_day
from collector.localtime import today as local_today
from collector.models.core import Device, Site
from collector.models.findings import FindingStatus
from collector.plugins import Link, PageSpec
from collector.services import findings as svc
from collector.services.errors import NotFound, ServiceError
from collector.services.tables.findings import TABLE as FINDINGS
from collector.web.i18n import format_date
from collector.web.setup import error_text, flash, redirect, render, request_language, translator_for
from collector.web.tables import table_view

router = APIRouter(include_in_schema=False)

ALL_ROLES = ("admin", "technician", "inspector", "planner", "viewer")
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


@router.get("/findings")
def findings_page(request: Request, user: AnyUser, session: DbSession) -> Response:
    view, status = table_view(request, session, user, FINDINGS, path="/findings", export_name="findings")
    return render(request, "findings.html", {"v": view}, status_code=status)


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
        "default_until": local_today() + timedelta(days=90),
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
            # The day the user picked, to its end in Vietnam: shown back as that same day.
            until=end_of_day(day),
        )
    except NotFound:
        raise HTTPException(404) from None
    except ServiceError as exc:
        return flash(redirect(back), error_text(exc, request_language(request)), "error")
    session.commit()
    message = _("The risk was accepted until %(date)s.", date=format_date(day, request_language(request)))
    return flash(redirect(back), message, "ok")


PLUGIN = PageSpec(
    router,
    nav=(Link(30, "Findings", "/findings"),),
    site_context=(_site_context,),
    device_context=(_device_context,),
)
