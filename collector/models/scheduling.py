"""When each periodic job last ran, shared by every collector process (see ``collector.scheduler``).

One row per job name. Several collector processes behind a load balancer all run the scheduler; the
row (and, on PostgreSQL, an advisory lock held while the job runs) makes a job run once per interval
across all of them instead of once per process.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from collector.models.types import ts_field


class ScheduledRun(SQLModel, table=True):
    __tablename__ = "scheduled_run"

    name: str = Field(primary_key=True, max_length=80)
    # Start of the last run that claimed its interval; the next run is due ``every`` after it.
    last_started_at: datetime | None = ts_field(nullable=True)
    last_finished_at: datetime | None = ts_field(nullable=True)
    # The error of the last run, None when it succeeded (shown to operators, never a secret).
    last_error: str | None = Field(default=None, max_length=500)
    # Which process ran it last (host:pid), to tell operators where to look for its log.
    last_runner: str | None = Field(default=None, max_length=120)
    runs: int = 0
