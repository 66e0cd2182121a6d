"""What the agent on a device last said about the reports it quarantined (a heartbeat's ``quarantine``).

A report the collector refused for good (or one damaged on the PC's disk) is set aside by the agent
so that it does not block the reports behind it; technicians see here that it happened and why.
One row per device, replaced by each newer heartbeat that carries the field; none when the agent
holds none.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from collector.models.types import json_field, ts_field


class DeviceQuarantine(SQLModel, table=True):
    __tablename__ = "device_quarantine"

    device_id: int = Field(foreign_key="device.id", primary_key=True, ondelete="CASCADE")
    count: int = 0
    # The newest quarantined reports: [{report_id, kind, subject, reason, quarantined_at}], newest first.
    recent: list[dict[str, Any]] = json_field(default_factory=list)
    # When the agent said so (the heartbeat's collected_at): an older heartbeat never overwrites it.
    reported_at: datetime = ts_field()
