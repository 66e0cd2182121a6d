"""Agents: where each runs, its version, when it last reported; an administrator revokes a key."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from collector.http.deps import AdminUser, DbSession, Settings, StaffUser
from collector.plugins import Link, PageSpec
from collector.services import console
from collector.services.enrollment import revoke_agent
from collector.services.errors import NotFound
from collector.web.setup import flash, redirect, render, translator_for

router = APIRouter(include_in_schema=False)


@router.get("/agents")
def agents_page(
    request: Request,
    user: StaffUser,
    session: DbSession,
    settings: Settings,
    site: str | None = None,
    stale: str | None = None,
) -> Response:
    """Every agent; ``site`` and ``stale=yes`` narrow it (the overview's numbers link here)."""
    rows = console.list_agents(session, scope=user.site_ids, stale_minutes=settings.stale_agent_minutes)
    if site:
        rows = [r for r in rows if r.site_code == site]
    if stale == "yes":
        rows = [r for r in rows if r.stale]
    context = {
        "agents": rows,
        "stale_minutes": settings.stale_agent_minutes,
        "site": site,
        "only_stale": stale == "yes",
    }
    return render(request, "agents.html", context)


@router.post("/agents/{agent_id}/revoke")
def revoke(request: Request, agent_id: str, user: AdminUser, session: DbSession) -> Response:
    _ = translator_for(request)
    try:
        agent = console.get_agent(session, agent_id, scope=user.site_ids)
    except NotFound:
        raise HTTPException(404) from None
    revoke_agent(session, agent_id, actor=user.username)
    session.commit()
    name = agent.hostname or agent.id
    return flash(redirect("/agents"), _("The key of agent %(name)s was revoked.", name=name), "ok")


PLUGIN = PageSpec(
    router,
    nav=(Link(80, "Agents", "/agents"),),
)
