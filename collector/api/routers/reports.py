"""Report ingest: 202 for a new report and for a duplicate (the agent may then drop it).

The body is read on the event loop (it streams in); parsing, validation and the ingest transaction run
in a worker thread, at most ``ingest_concurrency`` at once, so that a large report never stalls the
pages, /healthz or the other agents.
"""

from __future__ import annotations

import time
from typing import Any

import anyio
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from sqlalchemy import inspect
from sqlmodel import Session

from collector.api.schemas import ReportAccepted
from collector.http.body import read_limited_body_and_gzip
from collector.http.deps import AuthedAgent, DbSession, Settings
from collector.metrics import REFUSAL_REASONS
from collector.models.core import Agent
from collector.plugins import RouterSpec
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

router = APIRouter(tags=["reports"])


@router.post(
    "/reports",
    status_code=202,
    response_model=ReportAccepted,
    # The route reads its body itself (after the agent's key is checked); the report's full contract
    # is ``wardwatch schema`` (JSON Schema), gzip-encoded or plain.
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "One report (JSON), gzip-encoded or plain; see `wardwatch schema`.",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
    responses={
        400: {"description": "not JSON, not UTF-8, or not valid gzip"},
        403: {
            "description": "the report names another agent, or a network device of another site or not "
            "on this agent's list"
        },
        409: {"description": "an unknown delta base (send a full report), or another agent's report id"},
        413: {"description": "body over the size limit"},
        415: {"description": "a content-encoding other than gzip"},
        422: {
            "description": "not a valid report: an unknown schema version, a value the contract refuses "
            "(NUL, NaN, int64 overflow, nesting, time window) or a per-report bound; each problem "
            "names its JSON path"
        },
    },
)
async def post_report(
    request: Request, agent: AuthedAgent, session: DbSession, settings: Settings
) -> ReportAccepted | JSONResponse:
    metrics = request.app.state.metrics
    started = time.perf_counter()
    # The agent is known (its key checked, anything that changed committed): end the read transaction,
    # which gives the connection back while the body streams in and the report waits for an ingest
    # slot; otherwise every waiting report holds one and 32 agents at once exhausted the pool.
    _release_keeping(session, agent)
    try:
        body, body_gz = await read_limited_body_and_gzip(request, settings.max_report_bytes)
    except HTTPException as exc:
        metrics.inc("reports", "rejected")
        metrics.inc("refused", REFUSAL_REASONS.get(exc.status_code, "other"))
        raise
    # One worker thread at a time uses the session: the dependency's, then this one.
    answer = await anyio.to_thread.run_sync(
        _ingest, session, settings, agent, body, body_gz, limiter=_limiter(request, settings)
    )
    if isinstance(answer, IngestOutcome):
        metrics.inc("reports", answer.status)
        # Time to store (from the handler's start: body read, parsed, committed), not to refuse.
        metrics.observe("ingest_seconds", time.perf_counter() - started)
        worker = getattr(request.app.state, "job_worker", None)
        if worker is not None and answer.status == "accepted":
            worker.wake()  # the derived work this report queued starts now, not at the next poll
        return ReportAccepted(
            status=answer.status,
            report_id=answer.report_id,
            device_id=answer.device_id,
            duplicate=answer.status == "duplicate",
        )
    status, detail = answer
    metrics.inc("reports", "needs_full" if status == 409 else "rejected")
    reason = REFUSAL_REASONS.get(status, "other")
    if status == 409:
        reason = "needs_full" if isinstance(detail, NeedsFull) else "report_id_taken"
    metrics.inc("refused", reason)
    if status == 409:
        return JSONResponse({"detail": str(detail), "needs_full": True}, status_code=409)
    raise HTTPException(status, detail)


def _release_keeping(session: Session, agent: Agent) -> None:
    """End the session's transaction (its connection goes back to the pool) keeping ``agent`` as it
    was just read, so the ingest does not read it again (a rollback expires what the session holds)."""
    state = inspect(agent)
    if state.expired_attributes or not state.persistent:
        session.rollback()  # read again on first use, as before
        return
    session.expunge(agent)
    session.rollback()
    session.add(agent)  # attached again, as loaded: no query; the ingest's flush writes its changes


class NeedsFull(str):
    """A 409 that asks the agent for a full report (its delta's base is unknown here)."""


def _limiter(request: Request, settings: CollectorSettings) -> anyio.CapacityLimiter:
    limiter = getattr(request.app.state, "ingest_limiter", None)
    if limiter is None:
        limiter = request.app.state.ingest_limiter = anyio.CapacityLimiter(settings.ingest_concurrency)
    return limiter


def _ingest(
    session: Session, settings: CollectorSettings, agent: Agent, body: bytes, body_gz: bytes | None
) -> IngestOutcome | tuple[int, Any]:
    """Parse and store one report (in a worker thread); the outcome, or (status, detail) to refuse."""
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
        return _refusal(exc)
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


def _refusal(exc: WireError) -> tuple[int, Any]:
    first = exc.problems[0]
    if exc.malformed:
        return 400, first.msg
    if first.type == "schema_version":
        return 422, first.msg
    return 422, [p.as_dict() for p in exc.problems]


PLUGIN = RouterSpec(router)
