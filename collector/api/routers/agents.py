"""Agent enrollment: an enroll secret in, an agent id and key out."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response

from collector.api.schemas import CertificateIssued, CertificateRequest, EnrollRequest, EnrollResponse
from collector.http.deps import AuthedAgent, DbSession, Public, Settings
from collector.http.responses import success
from collector.models.core import Agent
from collector.plugins import RouterSpec
from collector.services import agent_certs, throttle
from collector.services.audit import count_failure
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
        issued = None
        if body.csr:
            agent = session.get(Agent, enrolled.agent_id)
            assert agent is not None
            issued = agent_certs.issue(
                session,
                data_dir=request.app.state.settings.data_dir,
                agent=agent,
                csr_pem=body.csr,
                days=request.app.state.settings.agent_cert_days,
                actor=f"agent:{agent.id}",
            )
    except ServiceError as exc:
        session.rollback()
        count_failure(session, action=throttle.ENROLL_FAILED, address=address)
        session.commit()
        raise HTTPException(exc.status_code, str(exc)) from None
    session.commit()
    return EnrollResponse(
        agent_id=enrolled.agent_id,
        agent_key=enrolled.agent_key,
        site=enrolled.site_code,
        client_cert=issued.cert_pem if issued else None,
        ca_cert=issued.ca_pem if issued else None,
        client_cert_expires_at=issued.not_after if issued else None,
    )


@router.post("/agents/certificate", response_model=CertificateIssued, status_code=201)
def renew_certificate(
    body: CertificateRequest, agent: AuthedAgent, session: DbSession, settings: Settings
) -> CertificateIssued:
    """A new client certificate for the calling agent, before the current one expires: no enroll
    secret, only the agent key (and, when the collector requires one, the current certificate)."""
    try:
        issued = agent_certs.issue(
            session,
            data_dir=settings.data_dir,
            agent=agent,
            csr_pem=body.csr,
            days=settings.agent_cert_days,
            actor=f"agent:{agent.id}",
        )
    except ServiceError as exc:
        session.rollback()
        raise HTTPException(exc.status_code, f"csr: {exc}") from None
    session.commit()
    return CertificateIssued(
        client_cert=issued.cert_pem, ca_cert=issued.ca_pem, client_cert_expires_at=issued.not_after
    )


@router.get(
    "/agents/ca.pem",
    dependencies=[Public],
    response_class=Response,
    responses=success("application/x-pem-file"),
)
def ca_certificate(settings: Settings) -> Response:
    """The agent CA's certificate: what a reverse proxy trusts for agents' client certificates."""
    from collector import agent_ca

    return Response(
        agent_ca.load_or_create(settings.data_dir).cert_pem(), media_type="application/x-pem-file"
    )


@router.get(
    "/agents/crl.pem",
    dependencies=[Public],
    response_class=Response,
    responses=success("application/pkix-crl"),
)
def crl(session: DbSession, settings: Settings) -> Response:
    """Revoked agent certificates (PEM CRL, valid one day): for a proxy that verifies agents."""
    return Response(
        agent_certs.crl_pem(session, data_dir=settings.data_dir), media_type="application/pkix-crl"
    )


PLUGIN = RouterSpec(router)
