"""Stability facts: unexpected shutdowns and other signs of failing hardware."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from inventory.base import FactModel


class HealthFacts(FactModel):
    """What the operating system recorded about abrupt power losses and crashes.

    ``unexpected_shutdowns`` counts incidents seen since ``evidence_since`` (the oldest record the
    source still holds), so a count is only comparable together with its window.
    """

    unexpected_shutdowns: int | None = None
    boots_recorded: int | None = None
    evidence_since: datetime | None = None
    last_unexpected_shutdown: datetime | None = None
    # Most recent incidents first, at most a few dozen: enough to show a pattern.
    unexpected_shutdown_times: list[datetime] = Field(default_factory=list)
    source: str | None = None  # wtmp, journal, windows-eventlog
