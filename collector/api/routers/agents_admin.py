"""Agents (list, revoke a key) and enroll secrets (list, create, revoke)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel, Field

from collector.api.schemas.agents_admin import AgentPublic, EnrollSecretCreated, EnrollSecretPublic
from collector.http.deps import AdminUser, DbSession, Settings, StaffUser
from collector.http.params import Id
from collector.plugins import RouterSpec
from collector.services import console
from collector.services.devices import site_to_change
from collector.services.enrollment import (
    DEFAULT_VALID_DAYS,
    MAX_VALID_DAYS,
    create_enroll_secret,
    revoke_agent,
    revoke_enroll_secret,
)
from collector.services.errors import NotFound, ServiceError

router = APIRouter(tags=["agents"])


class EnrollSecretCreate(BaseModel):
    site: str = Field(min_length=1, max_length=64)
    label: str | None = Field(default=None, max_length=255)
    valid_days: int = Field(default=DEFAULT_VALID_DAYS, ge=1, le=MAX_VALID_DAYS)
    max_uses: int | None = Field(default=None, ge=1, le=100_000, description="unset: any number of agents")


@router.get("/agents", response_model=list[AgentPublic])
def list_agents(user: StaffUser, session: DbSession, settings: Settings) -> list[AgentPublic]:
    rows = console.list_agents(session, scope=user.site_ids, stale_minutes=settings.stale_agent_minutes)
    return [
        AgentPublic(
            id=r.agent.id,
            site=r.site_code,
            hostname=r.agent.hostname,
            version=r.agent.version,
            enrolled_at=r.agent.enrolled_at,
            last_seen_at=r.agent.last_seen_at,
            revoked_at=r.agent.revoked_at,
            stale=r.stale,
            device_count=r.device_count,
        )
        for r in rows
    ]


@router.post("/agents/{agent_id}/revoke", status_code=204)
def revoke_agent_key(agent_id: str, user: AdminUser, session: DbSession) -> Response:
    """The agent's key stops working at once; the agent must enroll again."""
    try:
        console.get_agent(session, agent_id, scope=user.site_ids)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    revoke_agent(session, agent_id, actor=user.username)
    session.commit()
    return Response(status_code=204)


@router.get("/enroll-secrets", response_model=list[EnrollSecretPublic])
def list_secrets(user: AdminUser, session: DbSession) -> list[EnrollSecretPublic]:
    return [
        EnrollSecretPublic(
            id=r.secret.id or 0,
            site=r.site_code,
            label=r.secret.label,
            created_at=r.secret.created_at,
            created_by=r.secret.created_by,
            expires_at=r.secret.expires_at,
            revoked_at=r.secret.revoked_at,
            uses=r.secret.uses,
            max_uses=r.secret.max_uses,
            active=r.active,
        )
        for r in console.list_enroll_secrets(session, scope=user.site_ids)
    ]


@router.post("/enroll-secrets", response_model=EnrollSecretCreated, status_code=201)
def create_secret(
    body: EnrollSecretCreate, response: Response, user: AdminUser, session: DbSession
) -> EnrollSecretCreated:
    try:
        site_to_change(session, body.site, scope=user.site_ids)
        secret = create_enroll_secret(
            session,
            site_code=body.site,
            label=body.label,
            created_by=user.username,
            valid_days=body.valid_days,
            max_uses=body.max_uses,
        )
        session.commit()
    except ServiceError as exc:
        session.rollback()
        raise HTTPException(exc.status_code, str(exc)) from None
    response.headers["Cache-Control"] = "no-store"
    return EnrollSecretCreated(site=body.site, secret=secret)


@router.post("/enroll-secrets/{secret_id}/revoke", status_code=204)
def revoke_secret(secret_id: Id, user: AdminUser, session: DbSession) -> Response:
    try:
        console.get_enroll_secret(session, secret_id, scope=user.site_ids)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    revoke_enroll_secret(session, secret_id, actor=user.username)
    session.commit()
    return Response(status_code=204)


PLUGIN = RouterSpec(router)
