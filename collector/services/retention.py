"""Retention: what old rows the collector deletes, the same way on SQLite and PostgreSQL.

The policy (``CollectorSettings``, docs/architecture.md "Bounded storage"), by ``collected_at``:

- every raw report is kept ``raw_report_retention_days`` (90);
- after that, only each device's daily snapshot is kept: the last full report it sent on each
  Vietnamese calendar day, until ``snapshot_retention_days`` (730); older reports go;
- a report something still refers to is never deleted, whatever its age: a finding's event, the
  evidence behind a publication (each device's last full report as of the inspection's prefill),
  and a device's current state (its last full report, the base of its deltas, and the reports its
  current sections came from);
- change history rows older than ``history_retention_days`` go.

Deletions run in batches of ``prune_batch_size`` rows, one transaction each, so ingest never waits
long; on PostgreSQL monthly partitions left empty are dropped (their files given back) and the next
months' partitions are created (``run_daily``). ``prune(dry_run=True)`` walks the same rows and
counts them without deleting anything.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Integer, and_, cast, func, or_, select, union
from sqlalchemy.engine import Connection, Engine
from sqlmodel import col

from collector.models.core import Device, DeviceSection, RawReport
from collector.models.findings import FindingEvent
from collector.models.history import ChangeEvent
from collector.models.inspections import Inspection, Publication
from collector.models.types import utcnow
from collector.services import partitions
from collector.settings import CollectorSettings

if TYPE_CHECKING:
    from collector.scheduler import Scheduler

log = logging.getLogger(__name__)

# Vietnam is UTC+7 all year (no daylight saving): a report's local day is its UTC time + 7 h.
_VN_OFFSET_SECONDS = 7 * 3600
_raw = RawReport.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__


@dataclass
class PruneResult:
    """Rows deleted (or, on a dry run, that would be) by table and reason."""

    dry_run: bool
    raw_cutoff: datetime
    snapshot_cutoff: datetime
    deleted: dict[str, int] = field(default_factory=dict)
    kept_referenced: int = 0
    partitions_dropped: list[str] = field(default_factory=list)
    partitions_created: list[str] = field(default_factory=list)

    def add(self, key: str, n: int) -> None:
        self.deleted[key] = self.deleted.get(key, 0) + n

    def lines(self) -> list[str]:
        verb = "would delete" if self.dry_run else "deleted"
        out = [
            f"raw reports older than {self.raw_cutoff:%Y-%m-%d %H:%M} UTC keep only daily snapshots; "
            f"snapshots older than {self.snapshot_cutoff:%Y-%m-%d %H:%M} UTC go"
        ]
        for key in ("rawreport", "change_event"):
            out.append(f"{key}: {verb} {self.deleted.get(key, 0)} rows")
        for key in sorted(k for k in self.deleted if "." in k):
            out.append(f"  {key}: {self.deleted[key]}")
        out.append(
            f"rawreport: kept {self.kept_referenced} old rows that findings, publications or devices use"
        )
        if self.partitions_dropped:
            verb_p = "would drop" if self.dry_run else "dropped"
            out.append(f"partitions: {verb_p} {', '.join(self.partitions_dropped)}")
        if self.partitions_created:
            out.append(f"partitions: created {', '.join(self.partitions_created)}")
        return out


def _local_day(conn: Connection) -> Any:
    col = _raw.c.collected_at
    if conn.dialect.name == "postgresql":
        return func.floor((func.extract("epoch", col) + _VN_OFFSET_SECONDS) / 86400)
    # SQLite stores the UTC time as text; strftime('%s') reads it as seconds since the epoch.
    return (cast(func.strftime("%s", col), Integer) + _VN_OFFSET_SECONDS) // 86400


def referenced_report_ids(conn: Connection, *, older_than: datetime) -> set[str]:
    """Ids of raw reports collected before ``older_than`` that something refers to."""
    old = select(_raw.c.report_id).where(_raw.c.collected_at < older_than)
    refs = union(
        select(Device.last_full_report_id).where(col(Device.last_full_report_id).in_(old)),
        select(DeviceSection.report_id).where(col(DeviceSection.report_id).in_(old)),
        select(FindingEvent.report_id).where(col(FindingEvent.report_id).in_(old)),
    )
    ids = {r for r in conn.execute(refs).scalars() if r}
    ids |= _publication_evidence(conn, older_than=older_than)
    return ids


def _publication_evidence(conn: Connection, *, older_than: datetime) -> set[str]:
    """Each device's last full report as of each published inspection's prefill (its evidence)."""
    out: set[str] = set()
    rows = conn.execute(
        select(Inspection.site_id, func.coalesce(Inspection.prefilled_at, Publication.published_at)).join(
            Publication, Publication.inspection_id == Inspection.id
        )
    ).all()
    for site_id, as_of in rows:
        if as_of is None:
            continue
        latest = (
            select(_raw.c.device_id, func.max(_raw.c.collected_at).label("at"))
            .join(Device, Device.id == _raw.c.device_id)
            .where(
                Device.site_id == site_id,
                _raw.c.kind == "full",
                _raw.c.collected_at <= as_of,
                _raw.c.collected_at < older_than,
            )
            .group_by(_raw.c.device_id)
            .subquery()
        )
        q = select(_raw.c.report_id).join(
            latest, and_(_raw.c.device_id == latest.c.device_id, _raw.c.collected_at == latest.c.at)
        )
        out.update(conn.execute(q).scalars())
    return out


def _extra_fulls(conn: Connection, *, start: datetime, end: datetime) -> Any:
    """Full reports collected in [start, end) that are not their device's last of their local day."""
    day = _local_day(conn).label("day")
    ranked = (
        select(
            _raw.c.id,
            _raw.c.collected_at,
            func.row_number()
            .over(
                partition_by=(_raw.c.device_id, day), order_by=(_raw.c.collected_at.desc(), _raw.c.id.desc())
            )
            .label("rn"),
        )
        .where(_raw.c.kind == "full", _raw.c.collected_at >= start, _raw.c.collected_at < end)
        .subquery()
    )
    return select(ranked.c.id, ranked.c.collected_at).where(ranked.c.rn > 1)


def _walk(
    engine: Engine,
    cond: Any,
    *,
    reason: str,
    protected: set[str],
    result: PruneResult,
    batch: int,
    dry_run: bool,
) -> None:
    """Delete (or count) the raw reports matching ``cond`` but ``protected``, ``batch`` rows at a time.

    Keyset order on (collected_at, id), so protected rows are passed over, not read again.
    """
    after: tuple[datetime, int] | None = None
    while True:
        q = select(_raw.c.id, _raw.c.report_id, _raw.c.collected_at).where(cond)
        if after is not None:
            q = q.where(
                or_(
                    _raw.c.collected_at > after[0],
                    and_(_raw.c.collected_at == after[0], _raw.c.id > after[1]),
                )
            )
        q = q.order_by(_raw.c.collected_at, _raw.c.id).limit(batch)
        with engine.begin() as conn:
            rows = conn.execute(q).all()
            if not rows:
                return
            after = (rows[-1].collected_at, rows[-1].id)
            doomed = [r for r in rows if r.report_id not in protected]
            result.kept_referenced += len(rows) - len(doomed)
            if doomed and not dry_run:
                lo = min(r.collected_at for r in doomed)
                conn.execute(
                    _raw.delete().where(
                        _raw.c.id.in_([r.id for r in doomed]),
                        # The time range lets PostgreSQL touch only the partitions concerned.
                        _raw.c.collected_at >= lo,
                        _raw.c.collected_at <= after[0],
                    )
                )
            result.add("rawreport", len(doomed))
            result.add(f"rawreport.{reason}", len(doomed))
        if len(rows) < batch:
            return


def prune(
    engine: Engine, settings: CollectorSettings, *, now: datetime | None = None, dry_run: bool = False
) -> PruneResult:
    """Apply the retention policy once (see the module's docstring); what was (or would be) deleted."""
    now = now or utcnow()
    raw_cutoff = now - timedelta(days=settings.raw_report_retention_days)
    snapshot_cutoff = min(raw_cutoff, now - timedelta(days=settings.snapshot_retention_days))
    result = PruneResult(dry_run=dry_run, raw_cutoff=raw_cutoff, snapshot_cutoff=snapshot_cutoff)
    batch = settings.prune_batch_size
    with engine.connect() as conn:
        protected = referenced_report_ids(conn, older_than=raw_cutoff)
        extra_full_ids = [
            r.id for r in conn.execute(_extra_fulls(conn, start=snapshot_cutoff, end=raw_cutoff))
        ]
    walk: dict[str, Any] = {"protected": protected, "result": result, "batch": batch, "dry_run": dry_run}
    _walk(engine, _raw.c.collected_at < snapshot_cutoff, reason="past_snapshot_retention", **walk)
    # Deltas (and heartbeats stored before they stopped adding rows) past the raw retention.
    _walk(
        engine,
        and_(_raw.c.kind != "full", _raw.c.collected_at < raw_cutoff, _raw.c.collected_at >= snapshot_cutoff),
        reason="past_raw_retention",
        **walk,
    )
    for start in range(0, len(extra_full_ids), batch):
        chunk = extra_full_ids[start : start + batch]
        _walk(
            engine,
            and_(
                _raw.c.id.in_(chunk), _raw.c.collected_at >= snapshot_cutoff, _raw.c.collected_at < raw_cutoff
            ),
            reason="not_the_daily_snapshot",
            **walk,
        )
    history_cutoff = now - timedelta(days=settings.history_retention_days)
    result.add(
        "change_event", _prune_table(engine, ChangeEvent, history_cutoff, batch=batch, dry_run=dry_run)
    )
    with engine.begin() as conn:
        result.partitions_dropped = partitions.drop_empty_before(conn, snapshot_cutoff, dry_run=dry_run)
    return result


def _prune_table(engine: Engine, model: Any, cutoff: datetime, *, batch: int, dry_run: bool) -> int:
    table = model.__table__
    cond = table.c.at < cutoff
    if dry_run:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table).where(cond)).scalar_one())
    total = 0
    while True:
        with engine.begin() as conn:
            ids = list(conn.execute(select(table.c.id).where(cond).limit(batch)).scalars())
            if ids:
                conn.execute(table.delete().where(table.c.id.in_(ids)))
        total += len(ids)
        if len(ids) < batch:
            return total


def run_daily(engine: Engine, settings: CollectorSettings, *, now: datetime | None = None) -> PruneResult:
    """The daily job: partitions for the coming months (PostgreSQL), then ``prune``."""
    now = now or utcnow()
    with engine.begin() as conn:
        created = partitions.ensure_ahead(conn, now)
    result = prune(engine, settings, now=now)
    result.partitions_created = created
    for line in result.lines():
        log.info("retention: %s", line)
    return result


def register_jobs(scheduler: Scheduler, settings: CollectorSettings) -> None:
    """The daily retention job (partitions ahead, then ``prune``); none when ``retention_interval_hours``
    is 0. The scheduler runs it once per interval across every collector process sharing the database."""
    if settings.retention_interval_hours <= 0:
        return
    scheduler.register(
        "storage.prune",
        timedelta(hours=settings.retention_interval_hours),
        lambda engine: run_daily(engine, settings),
    )
