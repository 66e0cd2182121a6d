"""Ingest one report: validate against the device's state, then store it in one transaction.

The raw report (deduplicated per sender by ``report_id``: another agent's reuse is a 409), the
device's changed sections and results, and every ingest hook's work (findings, certificates, LAN,
configs, scores) commit together or not at all, so a collector killed mid-ingest leaves either the
whole report or nothing; the agent resends what was not acknowledged and the duplicate check makes
that safe.
"""

from __future__ import annotations

import functools
import gzip
import json
import logging
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import JSON, String, bindparam, insert, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, delete, select

from checks.catalog import COLLECTOR_REJUDGED
from collector.db import plain_rows
from collector.models.core import Agent, Device, DeviceResult, DeviceSection, RawReport
from collector.models.types import utcnow
from collector.plugins import HookSpec, load
from collector.services import jobs, partitions
from collector.services.errors import Conflict
from collector.services.identity import resolve_device
from collector.services.ingest_context import IngestContext
from collector.services.unknown_checks import is_known, module_of
from collector.settings import CollectorSettings
from inventory.report import Report, ReportKind, result_tuple, results_set_hash, section_hash

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


# The request path's statements are built once (bound parameters, no values inside): a statement
# built per call costs its construction and its cache key on every report, before the compiled form
# is found in the cache.
_RAW = RawReport.__table__  # type: ignore[attr-defined]
_STORED = select(_RAW.c.agent_id, _RAW.c.device_id).where(_RAW.c.report_id == bindparam("report_id"))
_STORED_AND_BASE = select(_RAW.c.report_id, _RAW.c.agent_id, _RAW.c.device_id).where(
    _RAW.c.report_id.in_([bindparam("report_id"), bindparam("base_id")])
)
_INSERT_RAW = insert(_RAW)


class Stored(NamedTuple):
    agent_id: str
    device_id: int


def _stored(session: Session, report_id: str) -> Stored | None:
    """(agent_id, device_id) of the stored report ``report_id``, or None (no row is loaded)."""
    rows = plain_rows(session, _STORED, {"report_id": report_id})
    return Stored(*rows[0]) if rows else None


def _stored_and_base(session: Session, report_id: str, base_id: str | None) -> tuple[Stored | None, Any]:
    """``_stored`` of ``report_id``, and the device id of the stored report ``base_id`` (None when
    unknown or not asked): one query for both, as a delta needs both."""
    if base_id is None or base_id == report_id:
        existing = _stored(session, report_id)
        return existing, existing.device_id if existing is not None and base_id is not None else None
    rows = plain_rows(session, _STORED_AND_BASE, {"report_id": report_id, "base_id": base_id})
    existing = next((Stored(a, d) for r, a, d in rows if r == report_id), None)
    base = next((d for r, _a, d in rows if r == base_id), None)
    return existing, base


def _duplicate(existing: Any, agent: Agent, report_id: str) -> IngestOutcome:
    if existing.agent_id != agent.id:
        raise ReportIdTaken(report_id)
    return IngestOutcome("duplicate", report_id, existing.device_id)


@dataclass
class IngestOutcome:
    status: str  # accepted, duplicate
    report_id: str
    device_id: int | None


class SkippedSectionsDiffer(Exception):
    """Sections left out at parsing matched another device of the agent than the one the report
    resolved to: the caller parses the report again in full (rare: a poller's devices share facts)."""


_SECTIONS = DeviceSection.__table__  # type: ignore[attr-defined]
_DEVICES = Device.__table__  # type: ignore[attr-defined]
_AGENT_SECTION_HASHES = (
    select(_SECTIONS.c.device_id, _SECTIONS.c.section, _SECTIONS.c.hash)
    .join(_DEVICES, _DEVICES.c.id == _SECTIONS.c.device_id)
    .where(_DEVICES.c.agent_id == bindparam("agent_id"))
)
_DEVICE_SECTION_HASHES = select(_SECTIONS.c.section, _SECTIONS.c.hash).where(
    _SECTIONS.c.device_id == bindparam("device_id")
)


def agent_section_hashes(session: Session, agent: Agent) -> dict[int, dict[str, str]]:
    """Stored section hashes of every device this agent reports for, in one query (no data read)."""
    out: dict[int, dict[str, str]] = {}
    for device_id, name, digest in plain_rows(session, _AGENT_SECTION_HASHES, {"agent_id": agent.id}):
        out.setdefault(device_id, {})[name] = digest
    return out


def ingest_report(
    session: Session,
    *,
    settings: CollectorSettings,
    agent: Agent,
    report: Report,
    body: bytes,
    body_gz: bytes | None = None,
    skipped: dict[str, str] | None = None,
    stored_hashes: dict[int, dict[str, str]] | None = None,
) -> IngestOutcome:
    """Store ``report`` (``body`` its JSON; ``body_gz`` the gzip the agent sent, kept as it came).
    ``skipped``: sections left out at parsing because ``stored_hashes`` (from ``agent_section_hashes``)
    held them; they must be the resolved device's, else ``SkippedSectionsDiffer``."""
    report_id = str(report.report_id)
    if report.kind != ReportKind.HEARTBEAT:
        # Before this transaction reads the raw reports: making a month's partition waits for them.
        partitions.ensure_for(session.get_bind(), report.collected_at)
    # A delta's base is looked up with the duplicate check (one query), and judged once the device
    # is known.
    delta = report.kind == ReportKind.DELTA
    base_id = str(report.base_report_id) if delta and report.base_report_id else None
    existing, base_device = _stored_and_base(session, report_id, base_id)
    if existing is not None:
        return _duplicate(existing, agent, report_id)

    device = resolve_device(session, agent=agent, subject=report.subject)
    if stored_hashes is not None and device.id in stored_hashes:
        stored = stored_hashes[device.id]
    else:
        stored = _section_hashes(session, device)
    skipped = skipped or {}
    if any(stored.get(name) != digest for name, digest in skipped.items()):
        raise SkippedSectionsDiffer(report_id)
    if report.kind == ReportKind.DELTA:
        _check_base(device, report, stored, base_device)

    now = utcnow()
    # A heartbeat only says the agent is alive (agent and device times below): no raw row, which was
    # 264 of a PC's 288 reports a day.
    if report.kind != ReportKind.HEARTBEAT:
        # One Core INSERT (no ORM object, no RETURNING): nothing reads the row back in this ingest.
        try:
            session.execute(
                _INSERT_RAW,
                {
                    "report_id": report_id,
                    "agent_id": agent.id,
                    "device_id": device.id or 0,
                    "kind": report.kind.value,
                    "schema_version": report.schema_version,
                    "collected_at": report.collected_at,
                    "received_at": now,
                    "size_bytes": len(body),
                    "body_gz": body_gz if body_gz is not None else gzip.compress(body, compresslevel=6),
                },
            )
        except IntegrityError as exc:
            return _lost_race(session, agent, report_id, exc)
    ctx = IngestContext(
        session=session,
        settings=settings,
        agent=agent,
        device=device,
        report=report,
        results=list(report.results),
        skipped_sections=skipped,
    )
    _store_sections(ctx, now, stored)
    if report.kind != ReportKind.HEARTBEAT:
        _store_results(ctx, now)

    device_values: dict[str, Any] = {"last_report_at": max(device.last_report_at or now, now)}
    if report.kind == ReportKind.FULL:
        device_values["last_full_report_id"] = report_id
    # Cut to the column (64): PostgreSQL refuses longer text; a version string must not cost a report.
    agent_values: dict[str, Any] = {
        "last_seen_at": now,
        "version": (report.agent_version or "")[:64] or agent.version,
    }
    if report.subject.kind == "host":
        agent_values["hostname"] = report.subject.hostname
    _write_liveness(session, agent, agent_values, device, device_values)
    # The hooks are plug-ins (collector/ingest_hooks), found by package name: see collector.plugins.
    # The derived jobs the hooks queue are written together at the end (one INSERT for a score
    # and a snapshot).
    with jobs.buffered(session):
        for hook in load("collector.ingest_hooks", HookSpec):
            hook.apply(ctx)
    try:
        session.flush()
    except IntegrityError as exc:
        return _lost_race(session, agent, report_id, exc)
    return IngestOutcome("accepted", report_id, device.id)


def _write_liveness(
    session: Session,
    agent: Agent,
    agent_values: dict[str, Any],
    device: Device,
    device_values: dict[str, Any],
) -> None:
    """Set the agent's and the device's times (and the agent's version and hostname). On PostgreSQL
    one statement writes both rows and the objects take the values as stored (the flush has nothing
    left to write for them); elsewhere the flush writes them, as any change of the objects."""
    if device.id is None or session.get_bind().dialect.name != "postgresql":
        for name, value in agent_values.items():
            setattr(agent, name, value)
        for name, value in device_values.items():
            setattr(device, name, value)
        session.add_all([device, agent])
        return
    session.execute(
        _pg_liveness_statement(tuple(agent_values), tuple(device_values)),
        {
            **{f"a_{k}": v for k, v in agent_values.items()},
            **{f"d_{k}": v for k, v in device_values.items()},
            "agent_id": agent.id,
            "device_id": device.id,
        },
    )
    for name, value in agent_values.items():
        set_committed_value(agent, name, value)
    for name, value in device_values.items():
        set_committed_value(device, name, value)
    session.add_all([device, agent])


@functools.cache  # one per set of columns: a handful
def _pg_liveness_statement(agent_columns: tuple[str, ...], device_columns: tuple[str, ...]) -> Any:
    """``WITH a AS (UPDATE agent ...) UPDATE device ...``, built once per set of columns."""
    agent_table = Agent.__table__  # type: ignore[attr-defined]
    device_table = Device.__table__  # type: ignore[attr-defined]
    sets_a = ", ".join(f"{c} = :a_{c}" for c in agent_columns)
    sets_d = ", ".join(f"{c} = :d_{c}" for c in device_columns)
    return text(
        f"WITH a AS (UPDATE agent SET {sets_a} WHERE id = :agent_id)"
        f" UPDATE device SET {sets_d} WHERE id = :device_id"
    ).bindparams(
        *(bindparam(f"a_{c}", type_=agent_table.c[c].type) for c in agent_columns),
        *(bindparam(f"d_{c}", type_=device_table.c[c].type) for c in device_columns),
    )


def _lost_race(session: Session, agent: Agent, report_id: str, exc: IntegrityError) -> IngestOutcome:
    """Two deliveries of one report raced; the other one won and this is a duplicate."""
    session.rollback()
    existing = _stored(session, report_id)
    if existing is None:
        raise exc
    return _duplicate(existing, agent, report_id)


def _section_hashes(session: Session, device: Device) -> dict[str, str]:
    """The device's stored section hashes in one query (the data stays in the database)."""
    return dict(plain_rows(session, _DEVICE_SECTION_HASHES, {"device_id": device.id}))


def _check_base(device: Device, report: Report, stored: dict[str, str], base_device: int | None) -> None:
    """``base_device``: the device of the stored report the delta names as its base (None: unknown)."""
    if report.base_report_id is None:
        raise BaseMissing("a delta report must name its base_report_id")
    if base_device is None or base_device != device.id:
        raise BaseMissing(f"base report {report.base_report_id} is unknown here; send a full report")
    for name, expected in report.partial.items():
        if stored.get(name) != expected:
            raise BaseMissing(f"section {name!r} differs from the base this delta names; send a full report")


# The changed sections of a device rewritten from arrays (name, hash, JSON text as SQLAlchemy's JSON
# type writes it), returning each one's value before from a self-join (PostgreSQL
# reads ``old`` in the statement's snapshot, before the update).
_PG_UPDATE_SECTIONS = (
    text(
        "UPDATE devicesection AS d"
        " SET hash = v.hash, data = CAST(v.data AS JSON), updated_at = :at, report_id = :report_id"
        " FROM unnest(CAST(:sections AS VARCHAR[]), CAST(:hashes AS VARCHAR[]), CAST(:datas AS TEXT[]))"
        " AS v(section, hash, data), devicesection AS old"
        " WHERE d.device_id = :device_id AND d.section = v.section"
        " AND old.device_id = d.device_id AND old.section = d.section"
        " RETURNING d.section, old.data"
    )
    .bindparams(bindparam("at", type_=DeviceSection.__table__.c.updated_at.type))  # type: ignore[attr-defined]
    .columns(section=String, data=JSON)
)


def _store_sections(ctx: IngestContext, now: Any, stored: dict[str, str]) -> None:
    """Write the sections that changed: one statement per kind of write, no ORM object per row."""
    session, device = ctx.session, ctx.device
    report_id = str(ctx.report.report_id)
    changed: dict[str, tuple[str, Any]] = {}
    for name, data in ctx.report.present_sections().items():
        digest = section_hash(data)
        if stored.get(name) != digest:  # an unchanged section costs no write
            changed[name] = (digest, data)
    if not changed:
        return
    table = DeviceSection.__table__  # type: ignore[attr-defined]
    updates = [name for name in changed if name in stored]
    dialect = session.get_bind().dialect
    if updates and dialect.name == "postgresql":
        # The text the JSON column would be given: the engine's serializer, json.dumps by default.
        dumps = getattr(dialect, "_json_serializer", None) or json.dumps
        # One round trip: the rows rewritten and their values before (the history hook compares
        # each changed section with its value before), read from the statement's snapshot.
        rows = session.execute(
            _PG_UPDATE_SECTIONS,
            {
                "device_id": device.id,
                "sections": updates,
                "hashes": [changed[name][0] for name in updates],
                "datas": [dumps(changed[name][1]) for name in updates],
                "at": now,
                "report_id": report_id,
            },
        ).all()
        ctx.previous_sections.update({row.section: row.data for row in rows})
    elif updates:
        # The history hook compares each changed section with its value before.
        q = select(DeviceSection.section, DeviceSection.data).where(
            DeviceSection.device_id == device.id, col(DeviceSection.section).in_(updates)
        )
        ctx.previous_sections.update(dict(session.exec(q).all()))
        session.execute(
            update(table)
            .where(table.c.device_id == bindparam("b_device"), table.c.section == bindparam("b_section"))
            .values(
                hash=bindparam("b_hash"),
                data=bindparam("b_data", type_=table.c.data.type),
                updated_at=bindparam("b_at", type_=table.c.updated_at.type),
                report_id=bindparam("b_report"),
            ),
            [
                {
                    "b_device": device.id,
                    "b_section": name,
                    "b_hash": changed[name][0],
                    "b_data": changed[name][1],
                    "b_at": now,
                    "b_report": report_id,
                }
                for name in updates
            ],
        )
    inserts = [name for name in changed if name not in stored]
    if inserts:
        session.execute(
            insert(table),
            [
                {
                    "device_id": device.id,
                    "section": name,
                    "hash": changed[name][0],
                    "data": changed[name][1],
                    "updated_at": now,
                    "report_id": report_id,
                }
                for name in inserts
            ],
        )
    for name, (_digest, data) in changed.items():
        ctx.changed_sections[name] = data


_RESULT_COLUMNS = ("id", "check_id", "target", "status", "evidence", "observed")


def _store_results(ctx: IngestContext, now: Any) -> None:
    """Insert, update and delete the device's stored results in one statement each (executemany)."""
    session, device, report = ctx.session, ctx.device, ctx.report
    changed_only = report.changed_results_only()
    if not report.results and not changed_only and report.kind != ReportKind.FULL and not report.modules:
        # A delta without results that speaks for no module changes no stored result: not even read.
        return
    table = DeviceResult.__table__  # type: ignore[attr-defined]
    current = {
        (row.check_id, row.target): row
        for row in session.execute(
            select(*(table.c[c] for c in _RESULT_COLUMNS)).where(table.c.device_id == device.id)
        ).all()
    }
    gone = {(g.check_id, g.target) for g in report.results_gone} if changed_only else set()
    if changed_only:
        _check_results_hash(report, current, gone)
    # Results of checks the catalog does not know are kept up to a bound per device; the rest dropped.
    # A delta carrying only changed results keeps the unknown ones it does not name.
    unknown_room = ctx.settings.report_max_unknown_results - sum(
        1
        for key in current
        if not is_known(key[0]) and (key not in gone if changed_only else not _covers(report, key[0]))
    )
    seen: set[tuple[str, str]] = set()
    report_id = str(report.report_id)
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for result in report.results:
        key = (result.check_id, result.target)
        if key in seen:
            continue
        if not is_known(result.check_id) and not (changed_only and key in current):
            if unknown_room <= 0:
                continue
            unknown_room -= 1
        seen.add(key)
        row = current.get(key)
        status = result.status.value
        message = result.message.model_dump() if result.message else None
        if row is None:
            inserts.append(
                {
                    "device_id": device.id,
                    "check_id": result.check_id,
                    "target": result.target,
                    "status": status,
                    "evidence": result.evidence,
                    "evidence_message": message,
                    "observed": result.observed,
                    "updated_at": now,
                    "report_id": report_id,
                }
            )
        elif (row.status, row.evidence, row.observed) == (status, result.evidence, result.observed):
            ctx.unchanged_results.add(key)
        else:
            updates.append(
                {
                    "b_id": row.id,
                    "b_status": status,
                    "b_evidence": result.evidence,
                    "b_message": message,
                    "b_observed": result.observed,
                    "b_at": now,
                    "b_report": report_id,
                }
            )
    if inserts:
        session.execute(insert(table), inserts)
    if updates:
        session.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(
                status=bindparam("b_status"),
                evidence=bindparam("b_evidence"),
                evidence_message=bindparam("b_message", type_=table.c.evidence_message.type),
                observed=bindparam("b_observed", type_=table.c.observed.type),
                updated_at=bindparam("b_at", type_=table.c.updated_at.type),
                report_id=bindparam("b_report"),
            ),
            updates,
        )
    if changed_only:
        stale = [current[k].id for k in gone if k in current and k not in seen and _covers(report, k[0])]
    else:
        stale = _stale_results(current, seen, report)
    if stale:
        session.execute(delete(table).where(table.c.id.in_(stale)))
    ctx.results_changed = len(inserts) + len(updates) + len(stale)


def _check_results_hash(
    report: Report, current: dict[tuple[str, str], Any], gone: set[tuple[str, str]]
) -> None:
    """The result set this delta leads to must hash as the agent's: else the collector's results
    diverged from what the agent built on (a restore, a lost write) and it needs a full report."""
    predicted: dict[tuple[str, str], Any] = {
        key: (key[0], key[1], row.status, row.evidence, row.observed if row.observed is not None else {})
        for key, row in current.items()
        if key not in gone and _covers(report, key[0])
    }
    carried: set[tuple[str, str]] = set()
    for result in report.results:
        key = (result.check_id, result.target)
        if key not in carried:
            carried.add(key)
            predicted[key] = result_tuple(result)
    rows = (row for key, row in predicted.items() if key[0] not in COLLECTOR_REJUDGED)
    if results_set_hash(rows) != report.results_hash:
        raise BaseMissing("the results this delta builds on differ from the collector's; send a full report")


def _covers(report: Report, check_id: str) -> bool:
    """Whether ``report`` speaks for the module of ``check_id`` (its results replace the stored ones)."""
    if report.kind == ReportKind.FULL and not report.modules:
        return True
    return module_of(check_id, subject_kind=report.subject.kind) in report.modules


def _stale_results(
    current: dict[tuple[str, str], Any], seen: set[tuple[str, str]], report: Report
) -> list[int]:
    """Results no longer reported: of every module on a full report, else of the modules it covers."""
    if report.kind != ReportKind.FULL and not report.modules:
        return []
    return [
        r.id for k, r in current.items() if k not in seen and r.id is not None and _covers(report, r.check_id)
    ]
