"""Agent enrollment: an enroll secret in, an agent id and key out."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request

from collector.api.deps import DbSession, Public
from collector.api.schemas import EnrollRequest, EnrollResponse
from collector.services.enrollment import enroll_agent
from collector.services.errors import ServiceError

router = APIRouter(tags=["agents"])


@router.post(
    "/agents/enroll",
    dependencies=[Public],
    response_model=EnrollResponse,
    status_code=201,
    responses={401: {"description": "The enroll secret is wrong, revoked or expired."}},
)
def enroll(body: EnrollRequest, request: Request, session: DbSession) -> EnrollResponse:
    """Open to anyone holding a valid enroll secret; the secret itself is the credential."""
    try:
        enrolled = enroll_agent(
            session,
            secret=body.secret,
            hostname=body.hostname,
            version=body.agent_version,
            address=request.client.host if request.client else None,
        )
    except ServiceError as exc:
        session.rollback()
        # Failed attempts are audited too; keep that record even though the enrollment failed.
        from collector.services.audit import record

        record(
            session,
            actor="anonymous",
            action="agent.enroll_failed",
            address=request.client.host if request.client else None,
            detail={"reason": str(exc)},
        )
        session.commit()
        raise HTTPException(exc.status_code, str(exc)) from None
    session.commit()
    return EnrollResponse(agent_id=enrolled.agent_id, agent_key=enrolled.agent_key, site=enrolled.site_code)
