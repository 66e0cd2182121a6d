"""``wardwatch agent rotate-key``: this agent gets a new key from its collector and keeps only that.

1. ``POST /api/v1/agents/rotate-key`` with the current key: the collector hands out a new key, kept
   beside the current one;
2. the new key is written to ``agent.json`` (atomically, 0600);
3. ``GET /api/v1/agents/me`` with the new key: its first use retires the old key at the collector.
A failure before step 2 leaves the old key working (rotate again); a failure at step 3 leaves the new
key saved, and the next delivery with it retires the old one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from agent.delivery import _detail, _raise_for, _request, build_client
from agent.errors import DeliveryError, NotEnrolled, ProtocolError
from agent.state import AgentState

if TYPE_CHECKING:
    from agent.config import AgentSettings

ROTATE_PATH = "/api/v1/agents/rotate-key"
WHOAMI_PATH = "/api/v1/agents/me"


@dataclass
class Rotation:
    agent_id: str
    confirmed: bool  # False: the new key is saved but the collector has not seen it yet
    problem: str | None = None


def rotate_key(
    settings: AgentSettings, *, state_dir: Path, transport: httpx.BaseTransport | None = None
) -> Rotation:
    ident = AgentState.load(state_dir)
    if ident is None:
        raise NotEnrolled(f"no agent key in {state_dir}: enroll first (`wardwatch agent enroll`)")
    url = settings.collector_url or ident.collector_url
    with build_client(settings, base_url=url, transport=transport) as client:
        resp = _request(client, "POST", ROTATE_PATH, headers={"Authorization": f"Bearer {ident.agent_key}"})
        if resp.status_code != 200:
            _raise_for(resp, "rotate the agent key")
        data, _ = _detail(resp)
        key = (data or {}).get("agent_key")
        if not key or (data or {}).get("agent_id") != ident.agent_id:
            raise ProtocolError("rotate the agent key: the answer lacks this agent's new key")
        replace(ident, agent_key=str(key)).save(state_dir)
        try:
            resp = _request(client, "GET", WHOAMI_PATH, headers={"Authorization": f"Bearer {key}"})
            if resp.status_code != 200:
                _raise_for(resp, "confirm the new agent key")
        except DeliveryError as exc:
            return Rotation(ident.agent_id, confirmed=False, problem=str(exc))
    return Rotation(ident.agent_id, confirmed=True)
