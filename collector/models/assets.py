"""Asset registry per device, replacement scores with their factors, and unit costs per device class."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlmodel import Field, SQLModel

from collector.models.types import json_field, ts_field


class LifecycleStatus(StrEnum):
    IN_SERVICE = "in_service"
    SPARE = "spare"
    TO_REPLACE = "to_replace"
    RETIRED = "retired"


class DeviceClass(StrEnum):
    """What a replacement would buy; unit costs are set per class."""

    DESKTOP = "desktop"
    LAPTOP = "laptop"
    SERVER = "server"
    NETWORK_DEVICE = "network_device"
    OTHER = "other"


class ScoreCategory(StrEnum):
    REPLACE_NOW = "replace_now"
    PLAN_12_MONTHS = "plan_12_months"
    MONITOR = "monitor"
    HEALTHY = "healthy"


# Costs are INTEGER columns (PostgreSQL: at most 2^31-1): one device or one unit costs at most this many
# VND, the same on every database. Two billion đồng is far above any office equipment.
MAX_COST_VND = 2_000_000_000


class Asset(SQLModel, table=True):
    """What the planners know about a device that no agent can tell: when and how it was bought."""

    device_id: int = Field(foreign_key="device.id", primary_key=True, ondelete="CASCADE")
    # Unique within a site (checked by the service): communes number their equipment independently, and a
    # city-wide uniqueness would tell a planner of one commune which tags another commune uses.
    asset_tag: str | None = Field(default=None, max_length=64, index=True)
    purchase_date: date | None = None
    purchase_cost: int | None = Field(default=None, ge=0)  # VND
    supplier: str | None = Field(default=None, max_length=255)
    warranty_end: date | None = None
    status: str = Field(default=LifecycleStatus.IN_SERVICE, max_length=16)
    # Overrides the class read from the facts (chassis), e.g. an all-in-one bought as a desktop.
    device_class: str | None = Field(default=None, max_length=32)
    notes: str | None = Field(default=None, max_length=2000)
    updated_at: datetime = ts_field()
    updated_by: str | None = Field(default=None, max_length=150)


class DeviceScore(SQLModel, table=True):
    """The latest replacement score of a device: a sum of named factors, each with its evidence."""

    device_id: int = Field(foreign_key="device.id", primary_key=True, ondelete="CASCADE")
    score: int = Field(index=True)
    category: str = Field(max_length=16, index=True)
    device_class: str = Field(max_length=32)
    # [{"name": "storage", "points": 40.0, "weight": 40, "evidence": [...], "critical": true}, ...]
    factors: list[dict[str, Any]] = json_field(nullable=False, default_factory=list)
    # Why the category is higher than the score alone says (a critical factor), if it is.
    category_reason: str | None = Field(default=None, max_length=500)
    virtual: bool = False  # a virtual machine: scored, never bought
    # Facts digest plus scoring config digest plus the day: unchanged inputs cost no write.
    inputs_hash: str = Field(max_length=64)
    computed_at: datetime = ts_field()
    computed_on: date


class UnitCost(SQLModel, table=True):
    """A planner's price for one replacement of a device class (VND); the config file gives defaults."""

    device_class: str = Field(primary_key=True, max_length=32)
    cost: int = Field(ge=0)
    updated_at: datetime = ts_field()
    updated_by: str | None = Field(default=None, max_length=150)
