"""Answers of the users routes (``collector/api/routers/users.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from collector.models.core import Role


class UserPublic(BaseModel):
    id: int
    username: str
    full_name: str | None
    title: str | None = None  # position (chức vụ)
    role: Role
    sites: list[str]  # empty: every site
    disabled: bool
    must_change_password: bool  # holds a one-time password from an administrator's reset
    language: str | None
    created_at: datetime


class NewPassword(BaseModel):
    username: str
    password: str  # one-time: the user must change it at the next login
    must_change: bool = True


class AuditEventPublic(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    target: str | None
    address: str | None
    count: int  # failed anonymous attempts: how many in that minute from that address
    detail: dict[str, Any] | None
