"""Certificate pages: the expiry calendar, and the certificates tab of a site and of a device."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from sqlmodel import Session

from collector.http.deps import AnyUser, DbSession
from collector.http.params import Id
from collector.models.core import Device, Site
from collector.plugins import Link, PageSpec
from collector.services import certificates as svc
from collector.services import console
from collector.services.devices import get_device, list_sites, site_in_scope
from collector.services.errors import NotFound, ServiceError
from collector.web.setup import device_tabs, render, site_tabs
from collector.web.tables import SITE_LIST_MAX, _count_sites

router = APIRouter(include_in_schema=False)


@router.get("/certificates")
def calendar_page(
    request: Request,
    user: AnyUser,
    session: DbSession,
    site: str | None = None,
    days: int = Query(90, ge=1, le=3650),
    cursor: str | None = None,
) -> Response:
    site_id = None
    if site:
        try:
            site_id = site_in_scope(session, site, scope=user.site_ids).id
        except NotFound:
            raise HTTPException(404) from None
    now = datetime.now(UTC)
    try:
        rows, page = svc.calendar_page(
            session, scope=user.site_ids, site_id=site_id, expiring_within_days=days, cursor=cursor, now=now
        )
    except ServiceError:
        # A cursor from another window or a stale link: start again from the soonest expiry.
        rows, page = svc.calendar_page(
            session, scope=user.site_ids, site_id=site_id, expiring_within_days=days, now=now
        )
    expired, months = svc.calendar(rows, now=now)

    def href(to: str | None) -> str | None:
        if to is None:
            return None
        return "/certificates?" + urlencode(
            {k: v for k, v in (("site", site), ("days", days), ("cursor", to)) if v}
        )

    # The country's 3,321 communes as a list cost more than the page: past SITE_LIST_MAX, a code typed in.
    n_sites = len(user.site_ids) if user.site_ids is not None else _count_sites(session)
    site_as_text = n_sites > SITE_LIST_MAX
    sites = [] if site_as_text else [r.site for r in list_sites(session, scope=user.site_ids)]
    context = {
        "expired": expired,
        "months": months,
        "days": days,
        "site_code": site or "",
        "sites": sites,
        "site_as_text": site_as_text,
        "now": now,
        "pages": {
            "prev_href": href(page.prev_cursor),
            "next_href": href(page.next_cursor),
            "first_href": (
                "/certificates?" + urlencode({k: v for k, v in (("site", site), ("days", days)) if v})
                if cursor
                else None
            ),
        },
    }
    return render(request, "certificates.html", context)


def _tab_context(session: Session, user: Any, *, site: Site, device: Device | None) -> dict[str, Any]:
    scope = user.site_ids
    device_id = device.id if device else None
    site_id = None if device else site.id
    return {
        "cert_rows": svc.list_certificates(session, scope=scope, site_id=site_id, device_id=device_id),
        "tls_rows": svc.list_tls(session, scope=scope, site_id=site_id, device_id=device_id),
        "doc_rows": svc.list_documents(session, scope=scope, site_id=site_id, device_id=device_id),
        "now": datetime.now(UTC),
        "show_device": device is None,
    }


@router.get("/sites/{code}/certificates")
def site_certificates(request: Request, code: str, user: AnyUser, session: DbSession) -> Response:
    try:
        site = site_in_scope(session, code, scope=user.site_ids)
    except NotFound:
        raise HTTPException(404) from None  # out of scope looks exactly like missing
    context = {"site": site, "tabs": site_tabs(user, site.code)}
    context.update(_tab_context(session, user, site=site, device=None))
    return render(request, "certificates_site.html", context)


@router.get("/devices/{device_id}/certificates")
def device_certificates(request: Request, device_id: Id, user: AnyUser, session: DbSession) -> Response:
    try:
        device = get_device(session, device_id, scope=user.site_ids)
    except NotFound:
        raise HTTPException(404) from None
    site = console.site_of(session, device.site_id)
    context = {"device": device, "site": site, "tabs": device_tabs(user, device_id)}
    context.update(_tab_context(session, user, site=site, device=device))
    return render(request, "certificates_device.html", context)


PLUGIN = PageSpec(
    router,
    nav=(Link(45, "Certificates", "/certificates"),),
    site_tabs=(Link(40, "Certificates", "/sites/{code}/certificates"),),
    device_tabs=(Link(40, "Certificates", "/devices/{id}/certificates"),),
)
