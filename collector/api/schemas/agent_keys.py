"""Answers of the agent keys routes (``collector/api/routers/agent_keys.py``)."""

from __future__ import annotations

from pydantic import BaseModel


class AgentSelf(BaseModel):
    agent_id: str
    site: str
    hostname: str | None


class RotatedKey(BaseModel):
    agent_id: str
    agent_key: str  # shown once: only its hash is stored
