"""Report ingest: 202 for a new report and for a duplicate (the agent may then drop it).

The body is read on the event loop (it streams in); parsing, validation and the ingest transaction
(``collector.services.intake``) run in an ingest process (``ingest_processes``, default 1:
``collector.services.ingest_pool``) or, with 0, in a worker thread; at most ``ingest_concurrency`` at
once, so that a large report never stalls the pages, /healthz or the other agents. A small report
(inflated body at most ``ingest_inline_max_bytes``: hourly deltas, heartbeats) is stored in a worker
thread either way, at most ``ingest_inline_concurrency`` at once: its parse is negligible and its cost
is the database's round trips, which overlap across threads where one ingest process did them one
report at a time.
"""

from __future__ import annotations

import time

import anyio
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from collector.api.schemas import ReportAccepted
from collector.http.body import read_limited_body_and_gzip
from collector.http.deps import ReportingKey, ReportKey, agent_for
from collector.metrics import REFUSAL_REASONS
from collector.plugins import RouterSpec
from collector.services.ingest import IngestOutcome
from collector.services.ingest_pool import RETRY_AFTER_SECONDS, IngestPool, IngestProcessLost
from collector.services.intake import IngestAnswer, NeedsFull, ingest_body
from collector.settings import CollectorSettings

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
        503: {
            "description": "the ingest process stopped while it held the report (it is replaced): "
            "send the report again after `Retry-After` seconds"
        },
    },
)
async def post_report(request: Request, key: ReportingKey) -> ReportAccepted | JSONResponse:
    settings: CollectorSettings = request.app.state.settings
    metrics = request.app.state.metrics
    started = time.perf_counter()
    pool: IngestPool | None = getattr(request.app.state, "ingest_pool", None)
    if pool is not None and not pool.started:
        pool = None  # an app served without its lifespan: ingest in a thread, as with 0 processes
    # The key was checked before the body (no connection is held while it streams in), or it is one
    # this process found valid before and is checked again where the report is stored (``ReportKey``).
    try:
        body, body_gz = await read_limited_body_and_gzip(request, settings.max_report_bytes)
    except HTTPException as exc:
        if key.agent is None:
            # A key no longer valid is refused as it would have been before the body was read.
            await run_in_threadpool(_checked, request, key)
        metrics.inc("reports", "rejected")
        metrics.inc("refused", REFUSAL_REASONS.get(exc.status_code, "other"))
        raise
    small = len(body) <= settings.ingest_inline_max_bytes
    if pool is None or small:
        # The key check (when not made before the body) and the ingest: one worker thread, one
        # session, one transaction.
        answer = await anyio.to_thread.run_sync(
            _ingest_here, request, key, settings, body, body_gz, limiter=_limiter(request, settings, small)
        )
        if pool is not None and isinstance(answer, IngestOutcome) and answer.status == "accepted":
            pool.wake_jobs()  # the job worker lives in the ingest process
    else:
        # The ingest process reads the agent itself, by id.
        agent_id = key.agent.id if key.agent is not None else await run_in_threadpool(_checked, request, key)
        try:
            async with _limiter(request, settings, small):
                answer = await pool.ingest(agent_id, body, body_gz)
        except IngestProcessLost:
            metrics.inc("reports", "rejected")
            metrics.inc("refused", REFUSAL_REASONS[503])
            raise HTTPException(
                503,
                "the ingest process stopped while it held this report; send it again",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            ) from None
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


def _ingest_here(
    request: Request, key: ReportKey, settings: CollectorSettings, body: bytes, body_gz: bytes | None
) -> IngestAnswer:
    """In a worker thread: the agent (checked in this transaction unless checked before the body),
    then ``ingest_body`` in the same session."""
    with Session(request.app.state.engine) as session:
        agent = agent_for(request, session, key)
        return ingest_body(session, settings, agent, body, body_gz)


def _checked(request: Request, key: ReportKey) -> str:
    """In a worker thread: the id of the agent holding ``key`` (401 if it no longer holds it)."""
    with Session(request.app.state.engine) as session:
        return agent_for(request, session, key).id


def _limiter(request: Request, settings: CollectorSettings, small: bool) -> anyio.CapacityLimiter:
    """The slots of small reports (``ingest_inline_concurrency``) or of the others
    (``ingest_concurrency``): a burst of large reports does not hold back the hourly deltas."""
    name = "ingest_inline_limiter" if small else "ingest_limiter"
    limiter = getattr(request.app.state, name, None)
    if limiter is None:
        total = settings.ingest_inline_concurrency if small else settings.ingest_concurrency
        if request.app.state.engine.dialect.name == "sqlite":
            # One writer at a time: more threads only wait in SQLite's busy handler, which is not
            # first come first served (8 of them: p95 1.0 -> 1.8 s at the same throughput).
            total = min(total, settings.ingest_concurrency)
        limiter = anyio.CapacityLimiter(total)
        setattr(request.app.state, name, limiter)
    return limiter


# First of the API routers: every agent's every report is matched against the routes included before
# it (FastAPI tries each in turn; as the 16th of 21 routers this was ~8% of a serving process's Python
# time under deltas). No other route matches its path, so the order changes nothing else.
PLUGIN = RouterSpec(router, order=10)
