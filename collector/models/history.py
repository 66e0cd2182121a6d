"""Change history: one compact row per change seen on a device (hardware, software, OS, network
device configuration), computed at ingest when a section's hash changes. Rows hold what changed and
its before/after values, never whole snapshots, so a device costs bytes per change, not per report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from collector.models.types import json_field, ts_field


class ChangeCategory:
    HARDWARE = "hardware"
    SOFTWARE = "software"
    OS = "os"
    CONFIG = "config"  # a network device's configuration or firmware

    ALL = (HARDWARE, SOFTWARE, OS, CONFIG)


class ChangeEvent(SQLModel, table=True):
    __tablename__ = "change_event"
    __table_args__ = (
        Index("ix_change_event_device_at", "device_id", "at"),
        Index("ix_change_event_site_at", "site_id", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id", ondelete="CASCADE")
    # The device's site at the time, so a site's weekly list is one indexed range scan.
    site_id: int = Field(foreign_key="site.id", ondelete="CASCADE")
    at: datetime = ts_field()
    report_id: str = Field(max_length=36)
    category: str = Field(max_length=16)  # ChangeCategory
    # What changed (memory, disk, disk_serial, system_serial, cpu, bios, nic, battery, software, os,
    # kernel, config, firmware, more) and how (added, removed, changed, increased, decreased,
    # installed, updated, upgraded, truncated).
    kind: str = Field(max_length=24)
    action: str = Field(max_length=16)
    subject: str = Field(default="", max_length=255)  # a disk's name, a program's name ...
    before: str | None = Field(default=None, max_length=255)
    after: str | None = Field(default=None, max_length=255)
    # The check that judged this change suspicious (change.disk_serial ...), if one did.
    suspicious: str | None = Field(default=None, max_length=64)
    detail: dict[str, Any] | None = json_field()
