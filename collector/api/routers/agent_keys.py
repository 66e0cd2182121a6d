"""An agent about itself: who it is (``GET /agents/me``) and a new key (``POST /agents/rotate-key``).

The new key waits beside the current one; the first request made with it retires the current key
(``collector.services.enrollment.authenticate_agent``). An agent that loses the answer keeps working
with its current key and rotates again.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from collector.api.schemas.agent_keys import AgentSelf, RotatedKey
from collector.http.deps import AuthedAgent, DbSession
from collector.models.core import Site
from collector.plugins import RouterSpec
from collector.services.enrollment import rotate_agent_key

router = APIRouter(tags=["agents"])


@router.get("/agents/me", response_model=AgentSelf)
def whoami(agent: AuthedAgent, session: DbSession) -> AgentSelf:
    site = session.get(Site, agent.site_id)
    return AgentSelf(agent_id=agent.id, site=site.code if site else "", hostname=agent.hostname)


@router.post("/agents/rotate-key", response_model=RotatedKey)
def rotate_key(request: Request, response: Response, agent: AuthedAgent, session: DbSession) -> RotatedKey:
    key = rotate_agent_key(session, agent=agent, address=request.client.host if request.client else None)
    session.commit()
    response.headers["Cache-Control"] = "no-store"
    return RotatedKey(agent_id=agent.id, agent_key=key)


PLUGIN = RouterSpec(router)
