"""One received report body, parsed, validated and stored: what ``POST /api/v1/reports`` does once the
body is read and the agent's key checked.

The same function runs in a worker thread of the serving process (``ingest_processes = 0``) or in an
ingest process (``collector.services.ingest_pool``); its answer is plain data (picklable), so both give
the route the same outcome: ``IngestOutcome`` when the report was stored (or was a duplicate), or
``(status, detail)`` to refuse it.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from collector.models.core import Agent
from collector.services.errors import ServiceError
from collector.services.ingest import (
    BaseMissing,
    IngestOutcome,
    SkippedSectionsDiffer,
    agent_section_hashes,
    ingest_report,
)
from collector.services.report_bounds import parse_bounded_report, parse_bounded_report_skipping
from collector.settings import CollectorSettings
from inventory.report import WireError

Refusal = tuple[int, Any]
IngestAnswer = IngestOutcome | Refusal


class NeedsFull(str):
    """A 409 that asks the agent for a full report (its delta's base is unknown here)."""


class DatabaseRefused(ServiceError):
    """The database refused a value of the report (PostgreSQL: too long, out of range) in an ingest
    process: answered as the app answers a ``DataError`` raised in the serving process."""

    status_code = 422


def ingest_body(
    session: Session, settings: CollectorSettings, agent: Agent, body: bytes, body_gz: bytes | None
) -> IngestAnswer:
    """Parse and store one report; the outcome, or (status, detail) to refuse it. Commits or rolls back."""
    stored: dict[int, dict[str, str]] | None = None

    def known(name: str, digest: str) -> bool:
        # Read once, on the first section asked about (a heartbeat carries none).
        nonlocal stored
        if stored is None:
            stored = agent_section_hashes(session, agent)
        return any(hashes.get(name) == digest for hashes in stored.values())

    try:
        report, skipped = parse_bounded_report_skipping(body, settings=settings, known=known)
    except WireError as exc:
        return refusal(exc)
    if report.agent_id != agent.id:
        return 403, f"report agent_id {report.agent_id} does not match the key's agent"
    try:
        try:
            outcome = ingest_report(
                session,
                settings=settings,
                agent=agent,
                report=report,
                body=body,
                body_gz=body_gz,
                skipped=skipped,
                stored_hashes=stored,
            )
        except SkippedSectionsDiffer:
            session.rollback()
            report = parse_bounded_report(body, settings=settings)
            outcome = ingest_report(
                session, settings=settings, agent=agent, report=report, body=body, body_gz=body_gz
            )
        session.commit()
    except BaseMissing as exc:
        session.rollback()
        return 409, NeedsFull(str(exc))
    except ServiceError as exc:
        session.rollback()
        return exc.status_code, str(exc)
    return outcome


def refusal(exc: WireError) -> Refusal:
    first = exc.problems[0]
    if exc.malformed:
        return 400, first.msg
    if first.type == "schema_version":
        return 422, first.msg
    return 422, [p.as_dict() for p in exc.problems]
