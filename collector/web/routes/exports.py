"""Downloads of a table's current view: ``/export/<table>.csv`` or ``.xlsx`` with the page's filters
and sort. Each table keeps the roles of its page; a scoped user's file holds only their sites."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from collector.http.deps import AdminUser, AnyUser, DbSession, Principal, Settings, allow
from collector.http.params import Id
from collector.models.core import Role
from collector.plugins import PageSpec
from collector.services import devices as device_svc
from collector.services.errors import NotFound
from collector.services.tables.base import Table
from collector.services.tables.device_software import TABLE as DEVICE_SOFTWARE
from collector.web.setup import render
from collector.web.tables import TABLES, export

router = APIRouter(include_in_schema=False)
FORMATS = ("csv", "xlsx")
AssetReader = Annotated[Principal, Depends(allow(Role.ADMIN, Role.PLANNER, Role.TECHNICIAN))]


def _download(
    request: Request,
    session: DbSession,
    user: Principal,
    table: Table,
    fmt: str,
    *,
    fixed: dict[str, str] | None = None,
    **options: object,
) -> Response:
    if fmt not in FORMATS:
        raise HTTPException(404)

    def fail(code: int, message: str) -> Response:
        return render(request, "error.html", {"code": code, "message": message}, status_code=code)

    return export(request, session, user, table, fmt, options=dict(options), fixed=fixed, fail=fail)


@router.get("/export/devices.{fmt}")
def devices(fmt: str, request: Request, user: AnyUser, session: DbSession, settings: Settings) -> Response:
    return _download(
        request, session, user, TABLES["devices"][0], fmt, stale_minutes=settings.stale_agent_minutes
    )


@router.get("/export/findings.{fmt}")
def findings(fmt: str, request: Request, user: AnyUser, session: DbSession) -> Response:
    return _download(request, session, user, TABLES["findings"][0], fmt)


@router.get("/export/certificates.{fmt}")
def certificates(fmt: str, request: Request, user: AnyUser, session: DbSession) -> Response:
    return _download(request, session, user, TABLES["certificates"][0], fmt)


@router.get("/export/software.{fmt}")
def software(fmt: str, request: Request, user: AnyUser, session: DbSession) -> Response:
    return _download(request, session, user, TABLES["software"][0], fmt)


@router.get("/export/assets.{fmt}")
def assets(fmt: str, request: Request, user: AssetReader, session: DbSession) -> Response:
    return _download(request, session, user, TABLES["assets"][0], fmt)


@router.get("/export/audit.{fmt}")
def audit(fmt: str, request: Request, user: AdminUser, session: DbSession) -> Response:
    return _download(request, session, user, TABLES["audit"][0], fmt)


@router.get("/export/devices/{device_id}/software.{fmt}")
def device_software(fmt: str, device_id: Id, request: Request, user: AnyUser, session: DbSession) -> Response:
    try:
        device_svc.get_device(session, device_id, scope=user.site_ids)
    except NotFound:
        raise HTTPException(404) from None
    # The device comes from the path, whatever the query string says.
    return _download(request, session, user, DEVICE_SOFTWARE, fmt, fixed={"device": str(device_id)})


PLUGIN = PageSpec(router)
