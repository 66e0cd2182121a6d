"""Ingest one report: validate against the device's state, then store it in one transaction.

The raw report (deduplicated per sender by ``report_id``: another agent's reuse is a 409), the
device's changed sections and results, and every ingest hook's work (findings, certificates, LAN,
configs, scores) commit together or not at all, so a collector killed mid-ingest leaves either the
whole report or nothing; the agent resends what was not acknowledged and the duplicate check makes
that safe.
"""

from __future__ import annotations

import gzip
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, delete, select

from collector.models.core import Agent, Device, DeviceResult, DeviceSection, RawReport
from collector.models.types import utcnow
from collector.plugins import HookSpec, load
from collector.services import partitions
from collector.services.errors import Conflict
from collector.services.identity import resolve_device
from collector.services.ingest_context import IngestContext
from collector.services.unknown_checks import is_known, module_of
from collector.settings import CollectorSettings
from inventory.report import Report, ReportKind, section_hash

log = logging.getLogger(__name__)


class BaseMissing(Conflict):
    """A delta names a base (or section hashes) this collector does not hold: send a full report."""


class ReportIdTaken(Conflict):
    """Another agent already sent a report with this id: ids are deduplicated per sender."""

    def __init__(self, report_id: str) -> None:
        super().__init__(
            f"report_id {report_id} was already used by another agent; a report id belongs to the agent "
            "that first sent it and this report was not stored"
        )


def _duplicate(existing: RawReport, agent: Agent, report_id: str) -> IngestOutcome:
    if existing.agent_id != agent.id:
        raise ReportIdTaken(report_id)
    return IngestOutcome("duplicate", report_id, existing.device_id)


@dataclass
class IngestOutcome:
    status: str  # accepted, duplicate
    report_id: str
    device_id: int | None


def ingest_report(
    session: Session,
    *,
    settings: CollectorSettings,
    agent: Agent,
    report: Report,
    body: bytes,
    body_gz: bytes | None = None,
) -> IngestOutcome:
    """Store ``report`` (``body`` its JSON; ``body_gz`` the gzip the agent sent, kept as it came)."""
    report_id = str(report.report_id)
    if report.kind != ReportKind.HEARTBEAT:
        # Before this transaction reads the raw reports: making a month's partition waits for them.
        partitions.ensure_for(session.get_bind(), report.collected_at)
    existing = session.exec(select(RawReport).where(RawReport.report_id == report_id)).first()
    if existing is not None:
        return _duplicate(existing, agent, report_id)

    device = resolve_device(session, agent=agent, subject=report.subject)
    if report.kind == ReportKind.DELTA:
        _check_base(session, device, report)

    now = utcnow()
    # A heartbeat only says the agent is alive (agent and device times below): no raw row, which was
    # 264 of a PC's 288 reports a day.
    if report.kind != ReportKind.HEARTBEAT:
        session.add(
            RawReport(
                report_id=report_id,
                agent_id=agent.id,
                device_id=device.id or 0,
                kind=report.kind.value,
                schema_version=report.schema_version,
                collected_at=report.collected_at,
                received_at=now,
                size_bytes=len(body),
                body_gz=body_gz if body_gz is not None else gzip.compress(body, compresslevel=6),
            )
        )
    ctx = IngestContext(
        session=session,
        settings=settings,
        agent=agent,
        device=device,
        report=report,
        results=list(report.results),
    )
    _store_sections(ctx, now)
    if report.kind != ReportKind.HEARTBEAT:
        _store_results(ctx, now)

    device.last_report_at = max(device.last_report_at or now, now)
    if report.kind == ReportKind.FULL:
        device.last_full_report_id = report_id
    agent.last_seen_at = now
    # Cut to the column (64): PostgreSQL refuses longer text; a version string must not cost a report.
    agent.version = (report.agent_version or "")[:64] or agent.version
    if report.subject.kind == "host":
        agent.hostname = report.subject.hostname
    session.add_all([device, agent])
    # The hooks are plug-ins (collector/ingest_hooks), found by package name: see collector.plugins.
    for hook in load("collector.ingest_hooks", HookSpec):
        hook.apply(ctx)
    try:
        session.flush()
    except IntegrityError:
        # Two deliveries of one report raced; the other one won and this is a duplicate.
        session.rollback()
        existing = session.exec(select(RawReport).where(RawReport.report_id == report_id)).first()
        if existing is None:
            raise
        return _duplicate(existing, agent, report_id)
    return IngestOutcome("accepted", report_id, device.id)


def _section_hashes(session: Session, device: Device) -> dict[str, str]:
    """The device's stored section hashes in one query (the data stays in the database)."""
    q = select(DeviceSection.section, DeviceSection.hash).where(DeviceSection.device_id == device.id)
    return dict(session.exec(q).all())


def _check_base(session: Session, device: Device, report: Report) -> None:
    if report.base_report_id is None:
        raise BaseMissing("a delta report must name its base_report_id")
    base = session.exec(select(RawReport).where(RawReport.report_id == str(report.base_report_id))).first()
    if base is None or base.device_id != device.id:
        raise BaseMissing(f"base report {report.base_report_id} is unknown here; send a full report")
    stored = _section_hashes(session, device)
    for name, expected in report.partial.items():
        if stored.get(name) != expected:
            raise BaseMissing(f"section {name!r} differs from the base this delta names; send a full report")


def _store_sections(ctx: IngestContext, now: Any) -> None:
    session, device = ctx.session, ctx.device
    stored = _section_hashes(session, device)
    for name, data in ctx.report.present_sections().items():
        digest = section_hash(data)
        if stored.get(name) == digest:
            continue  # an unchanged section costs no write
        row = session.get(DeviceSection, (device.id, name)) if name in stored else None
        if row is None:
            row = DeviceSection(
                device_id=device.id or 0,
                section=name,
                hash=digest,
                data=data,
                updated_at=now,
                report_id=str(ctx.report.report_id),
            )
        else:
            ctx.previous_sections[name] = row.data
            row.hash, row.data, row.updated_at = digest, data, now
            row.report_id = str(ctx.report.report_id)
        session.add(row)
        ctx.changed_sections[name] = data


def _store_results(ctx: IngestContext, now: Any) -> None:
    session, device, report = ctx.session, ctx.device, ctx.report
    current = {
        (r.check_id, r.target): r
        for r in session.exec(select(DeviceResult).where(DeviceResult.device_id == device.id)).all()
    }
    # Results of checks the catalog does not know are kept up to a bound per device; the rest dropped.
    unknown_room = ctx.settings.report_max_unknown_results - sum(
        1 for (check_id, _t) in current if not is_known(check_id) and not _covers(report, check_id)
    )
    seen: set[tuple[str, str]] = set()
    for result in report.results:
        key = (result.check_id, result.target)
        if key in seen:
            continue
        if not is_known(result.check_id):
            if unknown_room <= 0:
                continue
            unknown_room -= 1
        seen.add(key)
        row = current.get(key)
        if row is None:
            row = DeviceResult(
                device_id=device.id or 0,
                check_id=result.check_id,
                target=result.target,
                status=result.status.value,
                evidence=result.evidence,
                evidence_message=result.message.model_dump() if result.message else None,
                observed=result.observed,
                updated_at=now,
                report_id=str(report.report_id),
            )
        elif (row.status, row.evidence, row.observed) != (
            result.status.value,
            result.evidence,
            result.observed,
        ):
            row.status, row.evidence, row.observed = result.status.value, result.evidence, result.observed
            row.evidence_message = result.message.model_dump() if result.message else None
            row.updated_at, row.report_id = now, str(report.report_id)
        else:
            continue
        session.add(row)
    stale = _stale_results(current, seen, report)
    if stale:
        session.exec(delete(DeviceResult).where(DeviceResult.id.in_(stale)))  # type: ignore[union-attr,call-overload]


def _covers(report: Report, check_id: str) -> bool:
    """Whether ``report`` speaks for the module of ``check_id`` (its results replace the stored ones)."""
    if report.kind == ReportKind.FULL and not report.modules:
        return True
    return module_of(check_id, subject_kind=report.subject.kind) in report.modules


def _stale_results(
    current: dict[tuple[str, str], DeviceResult], seen: set[tuple[str, str]], report: Report
) -> list[int]:
    """Results no longer reported: of every module on a full report, else of the modules it covers."""
    if report.kind != ReportKind.FULL and not report.modules:
        return []
    return [
        r.id for k, r in current.items() if k not in seen and r.id is not None and _covers(report, r.check_id)
    ]
