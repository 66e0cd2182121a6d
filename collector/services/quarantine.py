"""Quarantined reports, as each device's agent reports them in its heartbeats."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError
from sqlmodel import Session

from collector.models.quarantine import DeviceQuarantine
from inventory.report import Quarantine, QuarantinedReport


@dataclass(frozen=True)
class QuarantineView:
    count: int
    reported_at: datetime
    recent: list[QuarantinedReport]  # newest first


def record_quarantine(session: Session, *, device_id: int, note: Quarantine, reported_at: datetime) -> None:
    """Keep what the agent said, unless the device already holds a newer word (heartbeats held in
    the agent's memory can arrive late). A count of 0 clears it."""
    row = session.get(DeviceQuarantine, device_id)
    if row is not None and row.reported_at > reported_at:
        return
    if note.count == 0:
        if row is not None:
            session.delete(row)
        return
    if row is None:
        row = DeviceQuarantine(device_id=device_id)
    row.count = note.count
    row.recent = [r.model_dump(mode="json") for r in note.recent]
    row.reported_at = reported_at
    session.add(row)


def device_quarantine(session: Session, *, device_id: int) -> QuarantineView | None:
    row = session.get(DeviceQuarantine, device_id)
    if row is None:
        return None
    recent = []
    for item in row.recent or []:
        try:
            recent.append(QuarantinedReport.model_validate(item))
        except ValidationError:
            continue  # stored by an older collector in another shape: left out, never a 500
    return QuarantineView(count=row.count, reported_at=row.reported_at, recent=recent)
