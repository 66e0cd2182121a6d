"""Enroll secrets (per site) and agents (each with its own key, stored hashed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, select

from collector.models.core import Agent, EnrollSecret, Site
from collector.models.types import utcnow
from collector.security import new_token, token_hash
from collector.services.audit import record
from collector.services.errors import Unauthorized
from collector.services.sites import get_site_by_code


def create_enroll_secret(
    session: Session,
    *,
    site_code: str,
    label: str | None = None,
    created_by: str | None = None,
    valid_days: int | None = None,
) -> str:
    """A new enroll secret for a site; only its hash is kept, so the caller must show it now."""
    site = get_site_by_code(session, site_code)
    secret = new_token("wwe")
    expires = utcnow() + timedelta(days=valid_days) if valid_days else None
    session.add(
        EnrollSecret(
            site_id=site.id or 0,
            secret_hash=token_hash(secret),
            label=label,
            created_by=created_by,
            expires_at=expires,
        )
    )
    record(
        session,
        actor=created_by or "system",
        action="enroll_secret.create",
        target=site.code,
        detail={"label": label} if label else None,
        sites=[site.id],
    )
    session.flush()
    return secret


def revoke_enroll_secret(session: Session, secret_id: int, *, actor: str) -> None:
    row = session.get(EnrollSecret, secret_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        record(
            session, actor=actor, action="enroll_secret.revoke", target=str(secret_id), sites=[row.site_id]
        )


@dataclass
class Enrollment:
    agent_id: str
    agent_key: str
    site_code: str


def enroll_agent(
    session: Session, *, secret: str, hostname: str | None, version: str | None, address: str | None = None
) -> Enrollment:
    row = session.exec(select(EnrollSecret).where(EnrollSecret.secret_hash == token_hash(secret))).first()
    now = utcnow()
    if row is None:
        raise Unauthorized("wrong enroll secret")
    if row.revoked_at is not None:
        raise Unauthorized("this enroll secret was revoked; ask for a new one")
    if row.expires_at is not None and row.expires_at <= now:
        raise Unauthorized("this enroll secret has expired; ask for a new one")
    site = session.get(Site, row.site_id)
    assert site is not None
    key = new_token("wwa")
    agent = Agent(site_id=row.site_id, key_hash=token_hash(key), hostname=hostname, version=version)
    row.uses += 1
    session.add_all([agent, row])
    record(
        session,
        actor=f"agent:{agent.id}",
        action="agent.enroll",
        target=site.code,
        address=address,
        detail={"hostname": hostname},
        sites=[site.id],
    )
    session.flush()
    return Enrollment(agent_id=agent.id, agent_key=key, site_code=site.code)


def revoke_agent(session: Session, agent_id: str, *, actor: str) -> None:
    agent = session.get(Agent, agent_id)
    if agent is not None and agent.revoked_at is None:
        agent.revoked_at = utcnow()
        session.add(agent)
        record(session, actor=actor, action="agent.revoke", target=agent_id, sites=[agent.site_id])
