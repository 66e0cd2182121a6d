"""All certificates as a table (sortable, filtered, exported), next to the expiry calendar."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from collector.http.deps import AnyUser, DbSession
from collector.plugins import PageSpec
from collector.services.tables.certificates import TABLE
from collector.web.setup import render
from collector.web.tables import table_view

router = APIRouter(include_in_schema=False)


@router.get("/certificates/table")
def certificates_table(request: Request, user: AnyUser, session: DbSession) -> Response:
    view, status = table_view(
        request, session, user, TABLE, path="/certificates/table", export_name="certificates"
    )
    return render(request, "certificates_table.html", {"v": view}, status_code=status)


PLUGIN = PageSpec(router)
