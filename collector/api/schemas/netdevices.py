"""Answers of the netdevices routes (``collector/api/routers/netdevices.py``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class ConfigVersionPublic(BaseModel):
    id: int
    hash: str
    lines: int
    first_seen_at: datetime
    last_seen_at: datetime
    changed: bool
    previous_id: int | None
    os_version: str | None


class ConfigVersionText(ConfigVersionPublic):
    text: str


class ConfigDiffPublic(BaseModel):
    a: int
    b: int
    added: int
    removed: int
    diff: str  # unified diff, a -> b


class ManagedOut(BaseModel):
    id: int
    site: str
    name: str
    host: str
    port: int
    platform: str
    username: str
    has_password: bool
    updated_at: datetime
