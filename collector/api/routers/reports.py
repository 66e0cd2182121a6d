"""Report ingest: 202 for a new report and for a duplicate (the agent may then drop it)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from collector.api.body import parse_json, read_limited_body
from collector.api.deps import AuthedAgent, DbSession, Settings
from collector.api.schemas import ReportAccepted
from collector.services.errors import ServiceError
from collector.services.ingest import BaseMissing, ingest_report
from inventory.report import SUPPORTED_SCHEMA_VERSIONS, Report

router = APIRouter(tags=["reports"])


@router.post(
    "/reports",
    status_code=202,
    response_model=ReportAccepted,
    responses={
        403: {"description": "a network device of another site or not on this agent's list"},
        409: {"description": "an unknown delta base (send a full report), or another agent's report id"},
        413: {"description": "body over the size limit"},
        422: {"description": "not a valid report, or an unknown schema version"},
    },
)
async def post_report(
    request: Request, agent: AuthedAgent, session: DbSession, settings: Settings
) -> ReportAccepted | JSONResponse:
    metrics = request.app.state.metrics
    try:
        body = await read_limited_body(request, settings.max_report_bytes)
        report = _parse(body, agent.id)
    except HTTPException:
        metrics.inc("reports", "rejected")
        raise
    try:
        outcome = ingest_report(session, settings=settings, agent=agent, report=report, body=body)
        session.commit()
    except BaseMissing as exc:
        session.rollback()
        metrics.inc("reports", "needs_full")
        return JSONResponse({"detail": str(exc), "needs_full": True}, status_code=409)
    except ServiceError as exc:
        session.rollback()
        metrics.inc("reports", "rejected")
        raise HTTPException(exc.status_code, str(exc)) from None
    metrics.inc("reports", outcome.status)
    return ReportAccepted(
        status=outcome.status,
        report_id=outcome.report_id,
        device_id=outcome.device_id,
        duplicate=outcome.status == "duplicate",
    )


def _parse(body: bytes, agent_id: str) -> Report:
    """One pass over the bytes for a good report; a bad one is parsed again to say what is wrong."""
    try:
        report = Report.model_validate_json(body)
    except ValidationError:
        return _validate(parse_json(body), agent_id)
    if report.agent_id != agent_id:
        raise HTTPException(403, f"report agent_id {report.agent_id} does not match the key's agent")
    return report


def _validate(data: object, agent_id: str) -> Report:
    if not isinstance(data, dict):
        raise HTTPException(422, "a report is a JSON object")
    version = data.get("schema_version")
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        supported = ", ".join(str(v) for v in sorted(SUPPORTED_SCHEMA_VERSIONS))
        raise HTTPException(
            422, f"unsupported schema_version {version!r}; this collector accepts {supported}"
        )
    try:
        report = Report.model_validate(data)
    except ValidationError as exc:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()[:50]]
        raise HTTPException(422, errors) from None
    if report.agent_id != agent_id:
        raise HTTPException(403, f"report agent_id {report.agent_id} does not match the key's agent")
    return report
