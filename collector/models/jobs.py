"""Background jobs held in the database (``collector.services.jobs``).

Slow work derived from a report (vulnerability re-evaluation, replacement scoring) is queued here in
the ingest transaction and done by a worker thread of any collector process, so a report's answer does
not wait for it and several collector processes share one queue without running a job twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from collector.models.types import json_field, ts_field

# Pending = not claimed (or claimed by a worker whose lease ran out) and not given up.
PENDING = sa.text("claimed_at IS NULL AND failed_at IS NULL")


class Job(SQLModel, table=True):
    __tablename__ = "job"
    __table_args__ = (
        # One pending job per dedupe key: a device reporting 100 times before the worker gets to it
        # is evaluated once. A running job does not count, so a report arriving meanwhile queues anew.
        sa.Index(
            "ux_job_pending_dedupe",
            "dedupe_key",
            unique=True,
            sqlite_where=PENDING,
            postgresql_where=PENDING,
        ),
        sa.Index("ix_job_ready", "run_after", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40)
    payload: dict[str, Any] = json_field(default_factory=dict)
    dedupe_key: str | None = Field(default=None, max_length=200)
    run_after: datetime = ts_field()
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=2000)
    claimed_by: str | None = Field(default=None, max_length=100)
    claimed_at: datetime | None = ts_field(nullable=True)
    failed_at: datetime | None = ts_field(nullable=True)
    created_at: datetime = ts_field()
