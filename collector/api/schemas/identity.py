"""Answers of the identity routes (``collector/api/routers/identity.py``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class ClaimSide(BaseModel):
    site: str | None  # None: a site the caller may not see
    device_id: int | None
    hostname: str | None
    agent_id: str | None
    agent_hostname: str | None
    agent_last_seen_at: datetime | None
    agent_revoked: bool | None
    last_report_at: datetime | None


class ClaimedIdentity(BaseModel):
    hostname: str
    machine_id: str | None
    serial: str | None
    mac: str | None


class ClaimPublic(BaseModel):
    id: int
    kind: str  # conflict, move
    status: str  # open, merged, kept_apart, revoked
    detected_at: datetime
    device: ClaimSide  # the device that had the identity
    claimant: ClaimSide  # the agent that claimed it, and the flagged device its reports went to
    claimed: ClaimedIdentity
    resolved_at: datetime | None
    resolved_by: str | None
    note: str | None


class MoveDone(BaseModel):
    device_id: int
    site: str
    agents_moved: list[str]
