"""Answers of the findings routes (``collector/api/routers/findings.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class FindingPublic(BaseModel):
    id: int
    site: str
    device_id: int
    hostname: str
    check_id: str
    target: str
    known: bool  # False: a check id the collector's catalog does not know ("unknown")
    title: dict[str, str] | None
    severity: str
    status: str  # open, accepted, resolved (an expired acceptance reads as open)
    overdue: bool
    evidence: str
    first_seen_at: datetime
    last_seen_at: datetime
    opened_at: datetime
    due_at: datetime | None
    resolved_at: datetime | None
    reopen_count: int
    accepted_by: str | None
    accepted_until: datetime | None
    accepted_reason: str | None


class FindingEventPublic(BaseModel):
    at: datetime
    kind: str
    status: str
    severity: str | None
    evidence: str
    actor: str | None
    report_id: str | None
    note: str | None


class FindingDetail(FindingPublic):
    observed: dict[str, Any] | None
    rationale: dict[str, str] | None
    remediation: dict[str, str] | None
    references: list[str]
    history: list[FindingEventPublic]


class ComplianceFigures(BaseModel):
    passed: int
    failed: int
    unknown: int = 0  # the check could not observe (e.g. no privilege): counted as not passed
    not_counted: int  # not_applicable, skipped and error results: left out of the score
    score: float | None  # passed / (passed + failed + unknown); None when nothing was judged
    percent: int | None


class DeviceCompliance(ComplianceFigures):
    device_id: int
    hostname: str


class SiteCompliance(ComplianceFigures):
    site: str
    name: str
    devices: list[DeviceCompliance]
