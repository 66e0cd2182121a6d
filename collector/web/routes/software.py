"""Software across the city: every program and version, how many devices have it, and a way to the
devices (``winrar<6.23`` lists the programs older than 6.23; each count opens those devices)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from collector.http.deps import AnyUser, DbSession
from collector.plugins import Link, PageSpec
from collector.services.tables.software import TABLE
from collector.web.setup import render
from collector.web.tables import table_view

router = APIRouter(include_in_schema=False)


@router.get("/software")
def software_page(request: Request, user: AnyUser, session: DbSession) -> Response:
    view, status = table_view(request, session, user, TABLE, path="/software", export_name="software")
    query = view.filters.get("q", "")
    devices_href = None
    if query:
        from urllib.parse import urlencode

        extra = {k: view.filters[k] for k in ("site", "group") if view.filters.get(k)}
        devices_href = "/devices?" + urlencode({"software": query, **extra})
    return render(request, "software.html", {"v": view, "devices_href": devices_href}, status_code=status)


PLUGIN = PageSpec(
    router,
    nav=(Link(25, "Software", "/software"),),
)
