"""The asset register as a city-size table: sortable, filtered, paged, exported (CSV/XLSX)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from collector.http.deps import DbSession, Principal, allow
from collector.models.core import Role
from collector.plugins import PageSpec
from collector.services.tables.assets import TABLE
from collector.web.setup import render
from collector.web.tables import table_view

router = APIRouter(include_in_schema=False)

ReaderUser = Annotated[Principal, Depends(allow(Role.ADMIN, Role.PLANNER, Role.TECHNICIAN))]


@router.get("/planning/register")
def register_page(request: Request, user: ReaderUser, session: DbSession) -> Response:
    view, status = table_view(request, session, user, TABLE, path="/planning/register", export_name="assets")
    return render(request, "planning_register.html", {"v": view}, status_code=status)


PLUGIN = PageSpec(router)
