"""Periodic jobs that run once per interval across every collector process sharing the database.

Several stateless ``wardwatch serve`` processes (behind HAProxy, or ``--workers N``) each start this
scheduler; a job must still run once per interval, not once per process. Each run is claimed in the
database first:

- a ``scheduled_run`` row per job holds when it last started: a process runs the job only when that
  start is at least ``every`` ago, and moves it to now in the same transaction (the claim);
- on PostgreSQL the claim is made under ``pg_try_advisory_xact_lock`` and that transaction stays open
  while the job runs, so a slow job never runs twice at once, and a process killed mid-run leaves
  the interval unclaimed (its transaction rolls back) for another process to take at once;
- on SQLite (one collector process, the norm) the conditional ``UPDATE`` is the claim, committed
  before the job runs.

A failing job keeps its claim (the error is recorded on the row): it runs again next interval, not in
a tight loop. Jobs run in their own thread each, so a slow one never delays the others. Register the
application's jobs in ``build`` (one place listing all of them); ``register(name, every, fn)`` takes
the function called with the engine.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.elements import ColumnElement

from collector.models.scheduling import ScheduledRun
from collector.models.types import utcnow
from collector.settings import CollectorSettings

log = logging.getLogger(__name__)

JobFn = Callable[[Engine], object]
# How often each job's thread looks whether its job is due, as a share of its interval (bounded):
# a job runs between ``every`` and ``every`` + this after its last start.
_POLL_SHARE = 0.2
_POLL_MIN, _POLL_MAX = 0.05, 15.0
_FIRST_LOOK_MAX = 30.0


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    fn: JobFn

    @property
    def lock_key(self) -> int:
        """A stable signed 64-bit key for ``pg_try_advisory_xact_lock`` (the same in every process)."""
        digest = hashlib.sha256(f"wardwatch.scheduler:{self.name}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)

    @property
    def poll_seconds(self) -> float:
        return min(_POLL_MAX, max(_POLL_MIN, self.every.total_seconds() * _POLL_SHARE))

    @property
    def first_look_seconds(self) -> float:
        """A process looks at a job first this long after it starts, not at once: a restart (or a
        test's short-lived app) does not run every job on its way up."""
        return min(self.every.total_seconds(), _FIRST_LOOK_MAX)


def _runner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


@dataclass
class Scheduler:
    engine: Engine
    jobs: dict[str, Job] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def register(self, name: str, every: timedelta | float, fn: JobFn) -> None:
        """Run ``fn(engine)`` once per ``every`` (a timedelta or seconds) across all processes."""
        interval = every if isinstance(every, timedelta) else timedelta(seconds=every)
        if interval <= timedelta(0):
            raise ValueError(f"job {name}: the interval must be positive")
        if name in self.jobs:
            raise ValueError(f"job {name} is registered twice")
        self.jobs[name] = Job(name, interval, fn)

    def run_due(self, now: datetime | None = None) -> list[str]:
        """Run every job that is due and not claimed by another process; the names this call ran."""
        return [job.name for job in list(self.jobs.values()) if run_if_due(self.engine, job, now=now)]

    def start(self) -> None:
        for job in self.jobs.values():
            thread = threading.Thread(
                target=self._loop, args=(job,), name=f"wardwatch-job-{job.name}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def _loop(self, job: Job) -> None:
        wait = job.first_look_seconds
        while not self._stop.wait(wait):
            try:
                run_if_due(self.engine, job)
            except Exception:  # the database restarting must not end the job's thread
                log.exception("scheduled job %s: could not check or claim it; trying again", job.name)
            wait = job.poll_seconds


def run_if_due(engine: Engine, job: Job, *, now: datetime | None = None) -> bool:
    """Claim and run ``job`` when its interval has passed; False when not due or another process has
    it. The job's own exceptions are logged and recorded, not raised (the claim stands)."""
    with engine.connect() as conn:
        postgres = conn.dialect.name == "postgresql"
        tx = conn.begin()
        try:
            now = now or utcnow()
            if postgres and not conn.execute(select(_try_lock(job.lock_key))).scalar():
                tx.rollback()
                return False
            if not _claim(conn, job, now):
                tx.rollback()
                return False
            if not postgres:
                # SQLite: holding the write lock during the job would stop every other writer.
                tx.commit()
                tx = conn.begin()
            error = _call(engine, job)
            _finish(conn, job, error)
            tx.commit()
            return True
        except BaseException:
            if tx.is_active:
                tx.rollback()
            raise


def _try_lock(key: int) -> ColumnElement[bool]:
    return func.pg_try_advisory_xact_lock(key)


def _claim(conn: Connection, job: Job, now: datetime) -> bool:
    table = ScheduledRun.__table__  # type: ignore[attr-defined]
    from sqlalchemy.dialects import postgresql, sqlite

    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    conn.execute(insert(table).values(name=job.name, runs=0).on_conflict_do_nothing(index_elements=["name"]))
    claimed = conn.execute(
        update(table)
        .where(
            table.c.name == job.name,
            or_(table.c.last_started_at.is_(None), table.c.last_started_at <= now - job.every),
        )
        .values(last_started_at=now, last_runner=_runner_name(), runs=table.c.runs + 1)
    )
    return claimed.rowcount == 1


def _call(engine: Engine, job: Job) -> str | None:
    try:
        job.fn(engine)
    except Exception as exc:
        log.exception("scheduled job %s failed; it runs again in %s", job.name, job.every)
        return f"{type(exc).__name__}: {exc}"[:500]
    return None


def _finish(conn: Connection, job: Job, error: str | None) -> None:
    table = ScheduledRun.__table__  # type: ignore[attr-defined]
    conn.execute(
        update(table).where(table.c.name == job.name).values(last_finished_at=utcnow(), last_error=error)
    )


def build(engine: Engine, settings: CollectorSettings) -> Scheduler:
    """The collector's periodic jobs: every job the application runs is registered here.

    A job that may take long or must survive a crash half-way belongs on a database job queue: the
    queue's worker runs in every process (it claims rows itself), and a job here may enqueue work
    once per interval (a nightly recomputation) or requeue rows a dead worker left claimed. A daily
    job is ``scheduler.register("storage.prune", timedelta(days=1), prune)``.
    """
    from collector.services import notify_sender, overview, retention

    scheduler = Scheduler(engine)
    notify_sender.register_jobs(scheduler, settings)
    retention.register_jobs(scheduler, settings)
    overview.register_jobs(scheduler, settings)
    return scheduler


def start(engine: Engine, settings: CollectorSettings) -> Scheduler | None:
    """This process's scheduler, started; None when this process runs no periodic jobs."""
    if not settings.scheduler_enabled:
        return None
    scheduler = build(engine, settings)
    scheduler.start()
    return scheduler
