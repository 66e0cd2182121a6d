"""The overview: every site the user may see, its devices, its last report and its stale agents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from collector.api.deps import AnyUser, DbSession, Settings
from collector.models.core import Site
from collector.services import console
from collector.services.devices import list_sites
from collector.web.setup import extra_context, render

router = APIRouter(include_in_schema=False)

NAV = [(10, "Overview", "/", ("admin", "technician", "inspector", "planner", "viewer"))]


@dataclass
class OverviewRow:
    site: Site
    device_count: int
    last_report_at: datetime | None
    stale_agents: int
    stale: bool


@router.get("/")
def overview(request: Request, user: AnyUser, session: DbSession, settings: Settings) -> Response:
    minutes = settings.stale_agent_minutes
    agents = console.list_agents(session, scope=user.site_ids, stale_minutes=minutes, include_revoked=False)
    stale = [a for a in agents if a.stale]
    per_site: dict[int, int] = {}
    for a in stale:
        per_site[a.agent.site_id] = per_site.get(a.agent.site_id, 0) + 1
    rows = []
    for r in list_sites(session, scope=user.site_ids):
        site_id = r.site.id or 0
        silent = r.device_count > 0 and console.is_stale(r.last_report_at, stale_minutes=minutes)
        rows.append(
            OverviewRow(
                r.site,
                r.device_count,
                r.last_report_at,
                per_site.get(site_id, 0),
                silent or site_id in per_site,
            )
        )
    return render(
        request,
        "overview.html",
        {
            "rows": rows,
            "total_devices": sum(r.device_count for r in rows),
            "stale_agents": stale,
            "stale_minutes": minutes,
            # Other rooms' figures (OVERVIEW_CONTEXT), shown by templates/overview_extras/*.html.
            **extra_context("OVERVIEW_CONTEXT", session, user),
        },
    )
