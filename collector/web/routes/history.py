"""Change history pages: the device's History tab, the site's Changes tab (since a date, a week by
default), "changes this week" on the site page, and resolving a suspicious-change finding."""

from __future__ import annotations

from datetime import UTC, datetime, time
from itertools import groupby
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response

from collector.http.deps import AnyUser, DbSession, Principal, StaffUser
from collector.http.params import Id
from collector.models.core import Site
from collector.models.history import ChangeCategory
from collector.plugins import Link, PageSpec
from collector.services import console
from collector.services import history as svc
from collector.services.devices import device_reports, get_device, site_in_scope
from collector.services.errors import NotFound, ServiceError
from collector.services.findings import resolve_by_user
from collector.services.history_text import describe
from collector.web.i18n import LOCAL_TZ, format_date, parse_user_date
from collector.web.setup import (
    device_tabs,
    error_text,
    flash,
    redirect,
    render,
    request_language,
    site_tabs,
    translator_for,
)

REPORTS_SHOWN = 100
router = APIRouter(include_in_schema=False)

PAGE_SIZE = 100
WEEK_PREVIEW = 10


def _site_context(session: Any, site: Site, principal: Principal) -> dict[str, Any]:
    since = svc.week_start()
    return {
        "changes_week": svc.change_counts(session, site_id=site.id or 0, since=since),
        "changes_latest": svc.list_changes(
            session, scope=principal.site_ids, site_id=site.id, since=since, limit=WEEK_PREVIEW
        ).rows,
        "changes_link": f"/sites/{site.code}/changes",
        "change_text_of": describe,
    }


def _filters(category: str | None, suspicious: str | None) -> tuple[str | None, bool]:
    cat = category if category in ChangeCategory.ALL else None
    return cat, suspicious in ("1", "true", "on")


def _page_context(
    request: Request, page: svc.ChangePage, number: int, params: dict[str, Any]
) -> dict[str, Any]:
    lang = request_language(request)
    pages = max(1, -(-page.total // PAGE_SIZE))
    days = [
        (format_date(day, lang), list(rows))
        for day, rows in groupby(page.rows, key=lambda r: r.event.at.astimezone(LOCAL_TZ).date())
    ]
    return {
        "days": days,
        "total": page.total,
        "page": number,
        "pages": pages,
        "params": urlencode({k: v for k, v in params.items() if v}),
        "filters": params,
        "categories": ChangeCategory.ALL,
        "change_text": lambda e: describe(e, lang),
        # Rows sit under their day's heading: the time is enough.
        "fmt_time": lambda v: v.astimezone(LOCAL_TZ).strftime("%H:%M"),
    }


@router.get("/devices/{device_id}/history")
def device_history(
    request: Request,
    device_id: Id,
    user: AnyUser,
    session: DbSession,
    category: str | None = None,
    suspicious: str | None = None,
    page: int = 1,
) -> Response:
    try:
        device = get_device(session, device_id, scope=user.site_ids)
    except NotFound:
        raise HTTPException(404) from None  # another site's device looks exactly like a missing one
    cat, only = _filters(category, suspicious)
    number = max(1, page)
    rows = svc.list_changes(
        session,
        scope=user.site_ids,
        device_id=device_id,
        category=cat,
        suspicious_only=only,
        limit=PAGE_SIZE,
        offset=(number - 1) * PAGE_SIZE,
    )
    context = {
        "device": device,
        "site": console.site_of(session, device.site_id),
        "tabs": device_tabs(user, device_id),
        **_page_context(request, rows, number, {"category": cat or "", "suspicious": "1" if only else ""}),
        # When we last heard from it, and what kind of report (under the changes' first page).
        "reports": device_reports(session, device_id, limit=REPORTS_SHOWN) if number == 1 else None,
    }
    return render(request, "history_device.html", context)


@router.get("/sites/{code}/changes")
def site_changes(
    request: Request,
    code: str,
    user: AnyUser,
    session: DbSession,
    since: str | None = None,
    category: str | None = None,
    suspicious: str | None = None,
    page: int = 1,
) -> Response:
    try:
        site = site_in_scope(session, code, scope=user.site_ids)
    except NotFound:
        raise HTTPException(404) from None
    _ = translator_for(request)
    start = svc.week_start()
    bad_since = False
    if since and since.strip():
        day = parse_user_date(since)
        if day is None:
            bad_since = True
        else:
            start = datetime.combine(day, time(0), tzinfo=LOCAL_TZ).astimezone(UTC)
    cat, only = _filters(category, suspicious)
    number = max(1, page)
    rows = svc.list_changes(
        session,
        scope=user.site_ids,
        site_id=site.id,
        since=start,
        category=cat,
        suspicious_only=only,
        limit=PAGE_SIZE,
        offset=(number - 1) * PAGE_SIZE,
    )
    since_text = start.astimezone(LOCAL_TZ).date().strftime("%d/%m/%Y")
    params = {"since": since_text, "category": cat or "", "suspicious": "1" if only else ""}
    context = {
        "site": site,
        "tabs": site_tabs(user, site.code),
        "counts": svc.change_counts(session, site_id=site.id or 0, since=start),
        "since_text": since_text,
        "bad_since": bad_since,
        **_page_context(request, rows, number, params),
    }
    return render(request, "history_site.html", context, status_code=422 if bad_since else 200)


@router.post("/findings/{finding_id}/resolve")
def resolve_form(
    request: Request,
    finding_id: Id,
    user: StaffUser,
    session: DbSession,
    note: str = Form("", max_length=2000),
) -> Response:
    _ = translator_for(request)
    back = f"/findings/{finding_id}"
    try:
        resolve_by_user(session, finding_id=finding_id, scope=user.site_ids, actor=user.username, note=note)
    except NotFound:
        raise HTTPException(404) from None
    except ServiceError as exc:
        return flash(redirect(back), error_text(exc, request_language(request)), "error")
    session.commit()
    return flash(redirect(back), _("The finding was marked resolved."), "ok")


PLUGIN = PageSpec(
    router,
    site_tabs=(Link(70, "Changes", "/sites/{code}/changes"),),
    device_tabs=(Link(70, "History", "/devices/{id}/history"),),
    site_context=(_site_context,),
)
