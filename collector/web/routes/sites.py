"""One site's page: its devices, and the tabs other capabilities add (compliance, certificates...)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from collector.http.deps import AnyUser, DbSession, Settings
from collector.plugins import Link, PageSpec
from collector.services import console
from collector.services.devices import site_in_scope
from collector.services.errors import NotFound
from collector.web.setup import extra_context, render, site_tabs

router = APIRouter(include_in_schema=False)


@router.get("/sites/{code}")
def site_page(
    request: Request, code: str, user: AnyUser, session: DbSession, settings: Settings, q: str | None = None
) -> Response:
    try:
        site = site_in_scope(session, code, scope=user.site_ids)
    except NotFound:
        # Missing and out-of-scope look the same: a scoped user learns nothing of other sites.
        raise HTTPException(404) from None
    devices = console.site_device_rows(
        session, site.id or 0, stale_minutes=settings.stale_agent_minutes, search=(q or "").strip() or None
    )
    context = {"site": site, "devices": devices, "q": q, "tabs": site_tabs(user, site.code)}
    context.update(extra_context("site_context", session, site, user))
    return render(request, "site.html", context)


PLUGIN = PageSpec(
    router,
    # The site page's own tab; other rooms append theirs in their own routes modules.
    site_tabs=(Link(10, "Devices", "/sites/{code}"),),
)
