"""Agent enrollment: an enroll secret in, an agent id and key out."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request

from collector.api.deps import DbSession, Public
from collector.api.schemas import EnrollRequest, EnrollResponse
from collector.services import throttle
from collector.services.audit import count_failure
from collector.services.enrollment import enroll_agent
from collector.services.errors import ServiceError

router = APIRouter(tags=["agents"])


@router.post("/agents/enroll", dependencies=[Public], response_model=EnrollResponse, status_code=201)
def enroll(body: EnrollRequest, request: Request, session: DbSession) -> EnrollResponse:
    """Open to anyone holding a valid enroll secret; the secret itself is the credential.

    Failed attempts are counted per address and minute in the audit log, and an address that failed
    too often lately is told to wait (429) before its secret is even looked at.
    """
    address = request.client.host if request.client else None
    try:
        throttle.check_address(session, address=address)
    except throttle.TooManyAttempts as exc:
        session.commit()
        raise HTTPException(429, str(exc), headers={"Retry-After": str(exc.retry_after)}) from None
    try:
        enrolled = enroll_agent(
            session, secret=body.secret, hostname=body.hostname, version=body.agent_version, address=address
        )
    except ServiceError as exc:
        session.rollback()
        count_failure(session, action=throttle.ENROLL_FAILED, address=address)
        session.commit()
        raise HTTPException(exc.status_code, str(exc)) from None
    session.commit()
    return EnrollResponse(agent_id=enrolled.agent_id, agent_key=enrolled.agent_key, site=enrolled.site_code)
