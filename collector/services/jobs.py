"""A job queue held in the database: slow derived work leaves the report's request path.

``enqueue`` runs inside the caller's transaction (the ingest's), so a job exists exactly when the
report that asked for it was stored. A worker claims one ready job in its own short transaction
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL: concurrent workers of any process pass over each other's
rows; SQLite serialises writers, so the same ``UPDATE ... WHERE id = (SELECT ...) RETURNING`` is a
single-writer claim), then does the work and deletes the job in one transaction: the work commits
once or not at all. A failure is recorded on the row and retried with exponential backoff; after
``job_max_attempts`` the job is kept as failed (``failed_at``, ``last_error``) for an administrator.
A worker that dies holding a claim loses it after ``job_lease_seconds``.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from collector.models.jobs import PENDING, Job
from collector.models.types import utcnow
from collector.settings import CollectorSettings

log = logging.getLogger(__name__)

Handler = Callable[[Session, dict[str, Any], CollectorSettings], None]
BatchHandler = Callable[[Session, list[dict[str, Any]], CollectorSettings], None]
_HANDLERS: dict[str, Handler] = {}
_BATCH_HANDLERS: dict[str, BatchHandler] = {}
BACKOFF_BASE_S = 5.0
BACKOFF_MAX_S = 3600.0


def register(kind: str) -> Callable[[Handler], Handler]:
    """Declare the function that does jobs of ``kind`` (``fn(session, payload, settings)``)."""

    def deco(fn: Handler) -> Handler:
        _HANDLERS[kind] = fn
        return fn

    return deco


_QUEUES: dict[str, frozenset[str]] = {}


def queues(kind: str, *others: str) -> None:
    """Declare that jobs of ``kind`` may queue jobs of ``others``: a drain's claim of several kinds
    leaves those to its next claim, so that one of them covers what ``kind``'s jobs queued (taken
    together, the running one would not count as pending and a second one would be queued)."""
    _QUEUES[kind] = _QUEUES.get(kind, frozenset()) | frozenset(others)


def register_batch(kind: str) -> Callable[[BatchHandler], BatchHandler]:
    """Declare a function that does several ready jobs of ``kind`` at once
    (``fn(session, payloads, settings)``, in one transaction). A worker that claims a job of such a
    kind claims up to ``job_batch_size`` ready jobs of it; if the batch fails, each job is done
    again on its own through the ``register``ed handler, so a failure is still one job's."""

    def deco(fn: BatchHandler) -> BatchHandler:
        _BATCH_HANDLERS[kind] = fn
        return fn

    return deco


def _load_handlers() -> None:
    # The derived-work handlers live beside the services they call; importing registers them.
    import collector.services.derived_jobs  # noqa: F401


def _handler(kind: str) -> Handler | None:
    _load_handlers()
    return _HANDLERS.get(kind)


def _batch_handler(kind: str) -> BatchHandler | None:
    _load_handlers()
    return _BATCH_HANDLERS.get(kind)


_BUFFER = "wardwatch.jobs.buffer"


@contextmanager
def buffered(session: Session) -> Iterator[None]:
    """Jobs ``enqueue``d on ``session`` inside this block are written at its end, one statement
    per conflict rule (the ingest's hooks queue a score and a snapshot: one INSERT, not two). Two
    requests of one dedupe key in the block are one job (the later payload when it replaces)."""
    session.info[_BUFFER] = {}
    try:
        yield
        _write_buffered(session, session.info[_BUFFER])
    finally:
        session.info.pop(_BUFFER, None)


def _write_buffered(session: Session, buffer: dict[Any, tuple[dict[str, Any], bool]]) -> None:
    table = Job.__table__  # type: ignore[attr-defined]
    plain = [v for k, (v, _r) in buffer.items() if v["dedupe_key"] is None]
    if plain:
        session.execute(table.insert(), plain)
    dialect = session.get_bind().dialect.name
    for replace in (False, True):
        rows = [v for (v, r) in buffer.values() if v["dedupe_key"] is not None and r == replace]
        if not rows:
            continue
        # The rows as parameters (executemany), not as VALUES inside the statement: a statement that
        # holds its values is compiled again on every report.
        session.execute(_buffered_insert(dialect, replace), rows)


@functools.cache  # one per dialect and conflict rule: built once, its cache key too
def _buffered_insert(dialect: str, replace: bool) -> Any:
    table = Job.__table__  # type: ignore[attr-defined]
    ins = (postgresql if dialect == "postgresql" else sqlite).insert(table)
    if replace:
        return ins.on_conflict_do_update(
            index_elements=["dedupe_key"], index_where=PENDING, set_={"payload": ins.excluded.payload}
        )
    return ins.on_conflict_do_nothing(index_elements=["dedupe_key"], index_where=PENDING)


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any],
    *,
    dedupe_key: str | None = None,
    run_after: datetime | None = None,
    replace_payload: bool = True,
) -> None:
    """Queue a job in the caller's transaction. With ``dedupe_key``, a pending job of that key takes
    the newer payload instead of a second job being queued (``replace_payload=False``: the pending job
    stands as it is, and the insert waits for no other transaction's lock on it)."""
    now = utcnow()
    values = {
        "kind": kind,
        "payload": payload,
        "dedupe_key": dedupe_key,
        "run_after": run_after or now,
        "attempts": 0,
        "created_at": now,
    }
    buffer = session.info.get(_BUFFER)
    if buffer is not None:
        key: Any = dedupe_key if dedupe_key is not None else object()
        if key in buffer and not replace_payload:
            return  # the first request of the block stands, as a pending job would
        buffer[key] = (values, replace_payload)
        return
    table = Job.__table__  # type: ignore[attr-defined]
    if dedupe_key is None:
        session.execute(table.insert().values(**values))
        return
    dialect = session.get_bind().dialect.name
    ins = (postgresql if dialect == "postgresql" else sqlite).insert(table).values(**values)
    if not replace_payload:
        session.execute(ins.on_conflict_do_nothing(index_elements=["dedupe_key"], index_where=PENDING))
        return
    session.execute(
        ins.on_conflict_do_update(
            index_elements=["dedupe_key"],
            index_where=PENDING,
            set_={"payload": ins.excluded.payload},
        )
    )


@dataclass(frozen=True)
class Claimed:
    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    dedupe_key: str | None


def claim(engine: Engine, worker: str, *, lease_seconds: int = 300) -> Claimed | None:
    """Take the oldest ready job for ``worker`` (its own committed transaction), or None."""
    claimed = claim_batch(engine, worker, lease_seconds=lease_seconds, batch_size=1)
    return claimed[0] if claimed else None


def _claimable() -> Any:
    """Not given up, and not claimed by a worker whose lease still runs (``lease_cutoff``: now
    minus the lease)."""
    cutoff = bindparam("lease_cutoff", type_=Job.__table__.c.claimed_at.type)  # type: ignore[attr-defined]
    return and_(
        col(Job.failed_at).is_(None), or_(col(Job.claimed_at).is_(None), col(Job.claimed_at) < cutoff)
    )


@functools.cache  # a handful of shapes, each built once: a drain claims twice per report in the tests
def _ready(by_kind: bool = False, limit: int = 1, deferred: bool = False) -> Any:
    """The ready jobs' ids, oldest first (parameters: ``ready_now``, ``lease_cutoff``, and
    ``ready_kind`` when ``by_kind``; see ``_claim_params``)."""
    due = col(Job.run_after) <= bindparam("ready_now", type_=Job.__table__.c.run_after.type)  # type: ignore[attr-defined]
    if deferred:
        # A job queued to run later (never tried yet) is ready for a drain; a retry waits its backoff.
        due = or_(due, col(Job.attempts) == 0)
    q = select(col(Job.id)).where(due, _claimable())
    if by_kind:
        q = q.where(col(Job.kind) == bindparam("ready_kind"))
    # PostgreSQL: rows another worker is claiming are skipped, not waited for. SQLite renders
    # nothing here; its writers are serialised, which makes the UPDATE below the claim.
    return q.order_by(col(Job.run_after), col(Job.id)).limit(limit).with_for_update(skip_locked=True)


def _claim_params(now: datetime, lease_seconds: int, worker: str, **more: Any) -> dict[str, Any]:
    return {
        "ready_now": now,
        "lease_cutoff": now - timedelta(seconds=lease_seconds),
        "claim_worker": worker,
        "claim_at": now,
        **more,
    }


_RETURNING = (col(Job.id), col(Job.kind), col(Job.payload), col(Job.attempts), col(Job.dedupe_key))


def _claiming(where: Any) -> Any:
    """``UPDATE job SET claimed_by, claimed_at, attempts + 1 WHERE ... RETURNING`` the claimed jobs."""
    at_type = Job.__table__.c.claimed_at.type  # type: ignore[attr-defined]
    return (
        update(Job)
        .where(where)
        .values(
            claimed_by=bindparam("claim_worker"),
            claimed_at=bindparam("claim_at", type_=at_type),
            attempts=col(Job.attempts) + 1,
        )
        .returning(*_RETURNING)
    )


@functools.cache
def _claim_first(deferred: bool) -> Any:
    return _claiming(col(Job.id) == _ready(deferred=deferred).scalar_subquery())


@functools.cache
def _claim_more(limit: int, deferred: bool) -> Any:
    return _claiming(col(Job.id).in_(_ready(by_kind=True, limit=limit, deferred=deferred)))


@functools.cache
def _claim_ids() -> Any:
    # The ids a drain read, claimed if still claimable (asked again: SQLite read them unlocked).
    return _claiming(and_(col(Job.id).in_(bindparam("claim_ids", expanding=True)), _claimable()))


@functools.cache
def _ready_kinds(limit: int) -> Any:
    return _ready(limit=limit, deferred=True).add_columns(col(Job.kind))


def claim_batch(
    engine: Engine, worker: str, *, lease_seconds: int = 300, batch_size: int = 1, deferred: bool = False
) -> list[Claimed]:
    """Take the oldest ready job for ``worker`` (its own committed transaction); if its kind has a
    batch handler, up to ``batch_size`` ready jobs of that kind in the same transaction. Oldest
    first; empty when none is ready. ``deferred``: also jobs queued to run later (a drain)."""
    params = _claim_params(utcnow(), lease_seconds, worker)
    with engine.begin() as conn:
        first = conn.execute(_claim_first(deferred), params).first()
        if first is None:
            return []
        rows = [first]
        if batch_size > 1 and _batch_handler(first[1]) is not None:
            rows += conn.execute(
                _claim_more(batch_size - 1, deferred), {**params, "ready_kind": first[1]}
            ).all()
    claimed = [Claimed(r[0], r[1], dict(r[2] or {}), r[3], r[4]) for r in rows]
    return sorted(claimed, key=lambda c: c.id)


def _claim_for_drain(
    engine: Engine, settings: CollectorSettings, worker: str, *, wait_for_claimed: bool
) -> tuple[list[Claimed], bool]:
    """A drain's claim: among the oldest ``job_batch_size`` ready jobs (jobs queued to run later
    included), those of several kinds in one transaction (a report's score and site snapshot: one
    claim, not one per kind), of each kind what a claim of it alone would take. Jobs of a kind that
    an earlier claimed job may queue (``queues``) are left for the next claim. When none is ready,
    the same transaction also says whether another worker holds a live claim
    (``wait_for_claimed``). Returns (claimed jobs oldest first, claimed elsewhere)."""
    _load_handlers()  # their ``queues`` declarations
    while True:
        claimed, elsewhere, raced = _try_claim_for_drain(engine, settings, worker, wait_for_claimed)
        if not raced:
            return claimed, elsewhere


def _try_claim_for_drain(
    engine: Engine, settings: CollectorSettings, worker: str, wait_for_claimed: bool
) -> tuple[list[Claimed], bool, bool]:
    now = utcnow()
    lease, batch = settings.job_lease_seconds, settings.job_batch_size
    params = _claim_params(now, lease, worker)
    with engine.begin() as conn:
        ready = conn.execute(_ready_kinds(batch), params).all()
        if not ready:
            return [], wait_for_claimed and _live_claims(conn, settings, now), False
        ids: list[int] = []
        later: set[str] = set()
        taken: dict[str, int] = {}
        for job_id, kind in ready:
            # Per kind, what a claim of that kind alone would take: a batch of a batchable kind,
            # else one job (the others stay for concurrent workers to share).
            if kind in later or taken.get(kind, 0) >= (batch if kind in _BATCH_HANDLERS else 1):
                continue
            ids.append(job_id)
            taken[kind] = taken.get(kind, 0) + 1
            later |= _QUEUES.get(kind, frozenset())
        # The rows were read, not locked, on SQLite: the UPDATE asks again that each be unclaimed,
        # so a job another worker claimed meanwhile is not taken here (all of them: read again).
        rows = conn.execute(_claim_ids(), {**params, "claim_ids": ids}).all()
    claimed = [Claimed(r[0], r[1], dict(r[2] or {}), r[3], r[4]) for r in rows]
    return sorted(claimed, key=lambda c: c.id), False, not claimed


def _run_claimed_jobs(
    engine: Engine, settings: CollectorSettings, worker: str, claimed: list[Claimed]
) -> None:
    """Do claimed jobs, each kind in the order of its oldest job: a batchable kind's jobs together
    (one by one if that fails), the others one by one."""
    by_kind: dict[str, list[Claimed]] = {}
    for job in claimed:
        by_kind.setdefault(job.kind, []).append(job)
    for jobs in by_kind.values():
        if len(jobs) > 1 and _run_together(engine, settings, worker, jobs):
            continue
        for job in jobs:
            _run_claimed(engine, settings, worker, job)


def run_one(engine: Engine, settings: CollectorSettings, worker: str) -> bool:
    """Claim and do one job (or one batch of a batchable kind); False when none was ready."""
    return run_batch(engine, settings, worker) > 0


def run_batch(engine: Engine, settings: CollectorSettings, worker: str, *, deferred: bool = False) -> int:
    """Claim and do the oldest ready job, with up to ``job_batch_size`` others of its kind when the
    kind has a batch handler; how many jobs were claimed (0: none was ready). ``deferred``: jobs
    queued to run later count as ready (a drain does not wait for them)."""
    claimed = claim_batch(
        engine,
        worker,
        lease_seconds=settings.job_lease_seconds,
        batch_size=settings.job_batch_size,
        deferred=deferred,
    )
    if len(claimed) > 1 and _run_together(engine, settings, worker, claimed):
        return len(claimed)
    for job in claimed:
        _run_claimed(engine, settings, worker, job)
    return len(claimed)


def _run_together(engine: Engine, settings: CollectorSettings, worker: str, claimed: list[Claimed]) -> bool:
    """Do claimed jobs of one batchable kind in one transaction; False (nothing committed) if that
    failed or another worker took one of them over, and the caller does them one by one."""
    handler = _batch_handler(claimed[0].kind)
    if handler is None:
        return False
    ids = [job.id for job in claimed]
    try:
        with Session(engine) as session:
            handler(session, [job.payload for job in claimed], settings)
            gone = session.execute(
                delete(Job).where(col(Job.id).in_(ids), col(Job.claimed_by) == worker)
            ).rowcount  # type: ignore[attr-defined]
            if gone != len(ids):
                session.rollback()
                return False
            session.commit()
    except Exception as exc:  # each job is tried again on its own, which records its failure
        log.info("a batch of %s %s jobs failed (%s); doing them one by one", len(ids), claimed[0].kind, exc)
        return False
    return True


def _run_claimed(engine: Engine, settings: CollectorSettings, worker: str, job: Claimed) -> None:
    handler = _handler(job.kind)
    try:
        if handler is None:
            raise LookupError(f"no handler for job kind {job.kind!r}")
        with Session(engine) as session:
            handler(session, job.payload, settings)
            # Deleting our claim commits with the work: if the lease ran out and another worker took
            # the job meanwhile, nothing of ours is committed and it does the work once.
            gone = session.execute(
                delete(Job).where(col(Job.id) == job.id, col(Job.claimed_by) == worker)
            ).rowcount  # type: ignore[attr-defined]
            if gone != 1:
                session.rollback()
                log.warning("job %s (%s) was taken over by another worker; not committed", job.id, job.kind)
                return
            session.commit()
    except Exception as exc:  # a job's failure is recorded; the worker goes on
        log.warning("job %s (%s) failed on attempt %s: %s", job.id, job.kind, job.attempts, exc)
        _release_failed(engine, settings, job, worker, f"{type(exc).__name__}: {exc}")


def _release_failed(
    engine: Engine, settings: CollectorSettings, job: Claimed, worker: str, error: str
) -> None:
    now = utcnow()
    delay = min(BACKOFF_BASE_S * 2 ** (job.attempts - 1), BACKOFF_MAX_S)
    values: dict[str, Any] = {"last_error": error[:2000], "claimed_by": None, "claimed_at": None}
    if job.attempts >= settings.job_max_attempts:
        values["failed_at"] = now
    else:
        values["run_after"] = now + timedelta(seconds=delay)
    with engine.begin() as conn:
        if job.dedupe_key is not None and "failed_at" not in values:
            # A newer pending job of the same key already covers this one (the unique index would
            # refuse a second pending row): the newer one stands, this one goes.
            newer = conn.execute(
                select(col(Job.id)).where(
                    col(Job.dedupe_key) == job.dedupe_key,
                    col(Job.claimed_at).is_(None),
                    col(Job.failed_at).is_(None),
                )
            ).first()
            if newer is not None:
                conn.execute(delete(Job).where(col(Job.id) == job.id, col(Job.claimed_by) == worker))
                return
        conn.execute(update(Job).where(col(Job.id) == job.id, col(Job.claimed_by) == worker).values(**values))


def run_pending_jobs(
    engine: Engine,
    settings: CollectorSettings | None = None,
    *,
    worker: str | None = None,
    wait_for_claimed: bool = True,
    timeout: float = 120.0,
) -> int:
    """Do every job ready now (tests, ``wardwatch jobs run-pending``); returns how many ran. Jobs
    queued to run later (a site's snapshot waits a few seconds for its site's other reports) are
    done now too; jobs waiting for a retry are not.

    With ``wait_for_claimed``, also wait until jobs other workers hold are done, so that what the
    queue derives is in place when this returns (jobs waiting for a retry are not waited for).
    """
    settings = settings or CollectorSettings()
    worker = worker or f"drain:{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
    done = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        claimed, elsewhere = _claim_for_drain(engine, settings, worker, wait_for_claimed=wait_for_claimed)
        if claimed:
            _run_claimed_jobs(engine, settings, worker, claimed)
            done += len(claimed)
            continue
        if not elsewhere:
            break
        time.sleep(0.02)
    return done


def _live_claims(conn: Any, settings: CollectorSettings, now: datetime) -> bool:
    live = now - timedelta(seconds=settings.job_lease_seconds)
    return conn.execute(_live_claims_statement(), {"lease_cutoff": live}).first() is not None


@functools.cache
def _live_claims_statement() -> Any:
    cutoff = bindparam("lease_cutoff", type_=Job.__table__.c.claimed_at.type)  # type: ignore[attr-defined]
    return select(col(Job.id)).where(col(Job.failed_at).is_(None), col(Job.claimed_at) >= cutoff).limit(1)


@dataclass(frozen=True)
class QueueStats:
    depth: int  # jobs not done and not given up (running included)
    oldest_age_s: float  # age of the oldest of them; 0 when none
    failed: int


def queue_stats(session: Session) -> QueueStats:
    row = session.execute(
        select(
            func.count().filter(col(Job.failed_at).is_(None)),
            func.min(col(Job.created_at)).filter(col(Job.failed_at).is_(None)),
            func.count().filter(col(Job.failed_at).is_not(None)),
        ).select_from(Job)
    ).one()
    oldest = row[1]
    if oldest is not None and oldest.tzinfo is None:
        from datetime import UTC

        oldest = oldest.replace(tzinfo=UTC)
    age = max((utcnow() - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
    return QueueStats(int(row[0]), age, int(row[2]))


def failed_jobs(session: Session) -> list[Job]:
    q = select(Job).where(col(Job.failed_at).is_not(None)).order_by(col(Job.id))
    return list(session.execute(q).scalars().all())


class Worker:
    """The worker thread of one collector process: polls, or is woken by ``wake`` after an ingest."""

    def __init__(self, engine: Engine, settings: CollectorSettings) -> None:
        self.engine, self.settings = engine, settings
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wardwatch-jobs", daemon=True)

    def start(self) -> Worker:
        self._thread.start()
        return self

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                while not self._stop.is_set() and run_one(self.engine, self.settings, self.name):
                    pass
            except Exception:  # the database may be away a while: keep polling
                log.exception("the job worker could not reach the queue")
            if self._wake.wait(self.settings.job_poll_seconds) and self.settings.job_gather_seconds > 0:
                # Woken by a report: the reports that follow it within the gather time queue their
                # jobs meanwhile and are claimed with it, one batch (a claim, a commit) for them all
                # instead of a claim and an empty claim after each report.
                self._stop.wait(self.settings.job_gather_seconds)
            self._wake.clear()
