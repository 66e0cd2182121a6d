"""The device page's History tab.

A slot for the change history (hardware, software, OS and configuration changes over time), which the
change-history workstream fills: it replaces this module (same route and tab) with its timeline. Until
then the tab lists the reports the device sent, newest first, so the tab already answers "when did we
last hear from it, and what kind of report was it".
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from collector.api.deps import AnyUser, DbSession
from collector.services import console
from collector.services import devices as svc
from collector.services.errors import NotFound
from collector.web.setup import device_tabs, render

router = APIRouter(include_in_schema=False)

EVERYONE = ("admin", "technician", "inspector", "planner", "viewer")
DEVICE_TABS = [(70, "History", "/devices/{id}/history", EVERYONE)]
REPORTS_SHOWN = 100


@router.get("/devices/{device_id}/history")
def history_tab(request: Request, device_id: int, user: AnyUser, session: DbSession) -> Response:
    try:
        device = svc.get_device(session, device_id, scope=user.site_ids)
    except NotFound:
        raise HTTPException(404) from None
    context = {
        "device": device,
        "site": console.site_of(session, device.site_id),
        "tabs": device_tabs(user, device_id),
        "reports": svc.device_reports(session, device_id, limit=REPORTS_SHOWN),
    }
    return render(request, "device_history.html", context)
