"""Findings: a failing check on a device (and target), with its life: opened, resolved, reopened,
risk accepted until a date. ``FindingEvent`` keeps the history, including each change of evidence."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from collector.models.types import json_field, ts_field


class FindingStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    ACCEPTED = "accepted"  # a user accepted the risk until ``accepted_until``


class FindingEventKind(StrEnum):
    OPENED = "opened"
    EVIDENCE = "evidence"  # still failing, with different evidence
    SEVERITY = "severity"
    RESOLVED = "resolved"  # the check passed
    GONE = "gone"  # the check (or its target) is no longer reported
    REOPENED = "reopened"
    ACCEPTED = "accepted"
    EXPIRED = "expired"  # the risk acceptance ran out while the check still fails


class Finding(SQLModel, table=True):
    # One finding per device, check and target: its identity across reports.
    __table_args__ = (
        UniqueConstraint("device_id", "check_id", "target", name="uq_finding_identity"),
        Index("ix_finding_site_status", "site_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id", index=True, ondelete="CASCADE")
    # The device's site, kept here so site filters and scoping need no join.
    site_id: int = Field(foreign_key="site.id", index=True, ondelete="CASCADE")
    check_id: str = Field(max_length=200, index=True)
    target: str = Field(default="", max_length=500)
    known: bool = True  # False: the collector's catalog does not know this check id
    severity: str = Field(max_length=16, index=True)
    status: str = Field(max_length=16, index=True)
    evidence: str = ""
    evidence_message: dict[str, Any] | None = json_field()  # see DeviceResult.evidence_message
    observed: dict[str, Any] | None = json_field()
    first_seen_at: datetime = ts_field()
    last_seen_at: datetime = ts_field()
    opened_at: datetime = ts_field()  # start of the current episode (first seen, or reopened)
    due_at: datetime | None = ts_field(nullable=True)
    resolved_at: datetime | None = ts_field(nullable=True)
    reopen_count: int = 0
    accepted_by: str | None = Field(default=None, max_length=150)
    accepted_at: datetime | None = ts_field(nullable=True)
    accepted_until: datetime | None = ts_field(nullable=True)
    accepted_reason: str | None = Field(default=None, max_length=2000)


class FindingEvent(SQLModel, table=True):
    __tablename__ = "finding_event"

    id: int | None = Field(default=None, primary_key=True)
    finding_id: int = Field(foreign_key="finding.id", index=True, ondelete="CASCADE")
    at: datetime = ts_field()
    kind: str = Field(max_length=16)
    status: str = Field(max_length=16)  # the finding's status after the event
    severity: str | None = Field(default=None, max_length=16)
    evidence: str = ""
    actor: str | None = Field(default=None, max_length=150)  # a username for user actions
    report_id: str | None = Field(default=None, max_length=36)
    note: str | None = Field(default=None, max_length=2000)
