"""GET /api/v1/software: programs installed in the caller's sites, one row per name and version, with
how many devices have it; ``q`` is a name or a comparison (``winrar<6.23``). Keyset pages."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, Request, Response

from collector.api.paging import set_page_headers, sort_query
from collector.api.schemas.software import SoftwarePublic
from collector.http.deps import AnyUser, DbSession
from collector.plugins import RouterSpec
from collector.services.errors import ServiceError
from collector.services.tables import base as tables
from collector.services.tables.software import TABLE as SOFTWARE

router = APIRouter(tags=["software"])


@router.get("/software", response_model=list[SoftwarePublic])
def software(
    request: Request,
    response: Response,
    user: AnyUser,
    session: DbSession,
    q: str | None = Query(None, description="A name (part of), or name OP version: winrar<6.23"),
    site: str | None = None,
    group: str | None = None,
    sort: str | None = sort_query(SOFTWARE),
    cursor: str | None = Query(None, description="X-Next-Cursor of the previous page."),
    limit: int = Query(200, ge=1, le=1000),
) -> list[SoftwarePublic]:
    try:
        filters = SOFTWARE.clean({"q": q, "site": site, "group": group})
        page = tables.page(
            session, SOFTWARE, scope=user.site_ids, filters=filters, sort=sort, cursor=cursor, limit=limit
        )
    except ServiceError as exc:
        raise HTTPException(exc.status_code, str(exc)) from None
    set_page_headers(request, response, page)
    return [
        SoftwarePublic(
            id=r["id"],
            name=r["name"],
            version=r["version"],
            publisher=r["publisher"] or None,
            devices=r["devices"],
        )
        for r in page.rows
    ]


PLUGIN = RouterSpec(router)
