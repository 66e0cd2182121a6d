"""Answers of the planning routes (``collector/api/routers/planning.py``)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel


class ScorePublic(BaseModel):
    device_id: int
    hostname: str
    site: str
    device_class: str
    score: int
    category: str
    category_reason: str | None
    factors: list[dict[str, Any]]


class AssetPublic(BaseModel):
    device_id: int
    hostname: str
    site: str
    serial: str | None
    model: str
    os: str
    asset_tag: str | None = None
    purchase_date: date | None = None
    purchase_cost: int | None = None
    supplier: str | None = None
    warranty_end: date | None = None
    status: str = "in_service"
    device_class: str | None = None
    notes: str | None = None
    score: int | None = None
    category: str | None = None
