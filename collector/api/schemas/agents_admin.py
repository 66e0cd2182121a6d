"""Answers of the agents admin routes (``collector/api/routers/agents_admin.py``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class AgentPublic(BaseModel):
    id: str
    site: str
    hostname: str | None
    version: str | None
    enrolled_at: datetime
    last_seen_at: datetime | None
    revoked_at: datetime | None
    stale: bool
    device_count: int


class EnrollSecretPublic(BaseModel):
    id: int
    site: str
    label: str | None
    created_at: datetime
    created_by: str | None
    expires_at: datetime | None
    revoked_at: datetime | None
    uses: int
    max_uses: int | None
    active: bool


class EnrollSecretCreated(BaseModel):
    site: str
    secret: str  # shown once: only its hash is stored
