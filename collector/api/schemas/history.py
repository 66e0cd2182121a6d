"""Answers of the history routes (``collector/api/routers/history.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class ChangePublic(BaseModel):
    id: int
    at: datetime
    device_id: int
    hostname: str
    site: str
    category: str
    kind: str  # memory, disk, disk_serial, software, os, config ...
    action: str  # added, removed, changed, increased, decreased, installed, updated, upgraded ...
    subject: str
    before: str | None
    after: str | None
    # The check that judged this change suspicious (change.disk_serial ...), or null.
    suspicious: str | None
    detail: dict[str, Any] | None
    text: str  # the change as a sentence in the requested language


class ChangeList(BaseModel):
    total: int
    items: list[ChangePublic]


class SiteChanges(ChangeList):
    site: str
    since: datetime
    counts: dict[str, int]  # by category, plus suspicious and total


class ResolvedFinding(BaseModel):
    id: int
    status: str
    resolved_at: datetime | None
