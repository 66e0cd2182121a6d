"""Enroll secrets (per site) and agents (each with its own key, stored hashed).

An enroll secret expires (7 days unless told otherwise) and may be limited to a number of uses. An
agent rotates its own key: ``rotate_agent_key`` hands out a new key that waits beside the old one;
the first request made with the new key retires the old one (``authenticate_agent``), so an agent
that loses the answer keeps working with its old key and simply rotates again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, or_, select

from collector.models.core import Agent, EnrollSecret, Site
from collector.models.types import utcnow
from collector.security import new_token, token_hash
from collector.services.audit import record
from collector.services.errors import ServiceError, Unauthorized
from collector.services.sites import get_site_by_code

DEFAULT_VALID_DAYS = 7
MAX_VALID_DAYS = 3650


def create_enroll_secret(
    session: Session,
    *,
    site_code: str,
    label: str | None = None,
    created_by: str | None = None,
    valid_days: int = DEFAULT_VALID_DAYS,
    max_uses: int | None = None,
) -> str:
    """A new enroll secret for a site; only its hash is kept, so the caller must show it now."""
    if not 1 <= valid_days <= MAX_VALID_DAYS:
        raise ServiceError(
            "an enroll secret is valid for 1 to %(max_valid_days)s days, not %(valid_days)s",
            max_valid_days=MAX_VALID_DAYS,
            valid_days=valid_days,
        )
    if max_uses is not None and max_uses < 1:
        raise ServiceError(
            "the maximum number of uses must be at least 1, not %(max_uses)s", max_uses=max_uses
        )
    site = get_site_by_code(session, site_code)
    secret = new_token("wwe")
    session.add(
        EnrollSecret(
            site_id=site.id or 0,
            secret_hash=token_hash(secret),
            label=label,
            created_by=created_by,
            expires_at=utcnow() + timedelta(days=valid_days),
            max_uses=max_uses,
        )
    )
    record(
        session,
        actor=created_by or "system",
        action="enroll_secret.create",
        target=site.code,
        detail={"label": label, "valid_days": valid_days, "max_uses": max_uses},
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
    if row.max_uses is not None and row.uses >= row.max_uses:
        raise _used_up(row.max_uses)
    site = session.get(Site, row.site_id)
    assert site is not None
    # One statement counts the use and checks the bound, so two agents enrolling at once cannot both
    # take the last use.
    counted = session.exec(
        update(EnrollSecret)
        .where(
            col(EnrollSecret.id) == row.id,
            or_(col(EnrollSecret.max_uses).is_(None), col(EnrollSecret.uses) < col(EnrollSecret.max_uses)),
        )
        .values(uses=EnrollSecret.uses + 1)
    )
    if counted.rowcount != 1:
        raise _used_up(row.max_uses or 0)
    key = new_token("wwa")
    agent = Agent(site_id=row.site_id, key_hash=token_hash(key), hostname=hostname, version=version)
    session.add(agent)
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


def _used_up(max_uses: int) -> Unauthorized:
    return Unauthorized(
        "this enroll secret was used its maximum of %(max_uses)s time(s); ask for a new one",
        max_uses=max_uses,
    )


def revoke_agent(session: Session, agent_id: str, *, actor: str) -> None:
    agent = session.get(Agent, agent_id)
    if agent is not None and agent.revoked_at is None:
        agent.revoked_at = utcnow()
        session.add(agent)
        from collector.services.agent_certs import revoke_for_agent

        # Its client certificates go on the CRL too, for a proxy that checks them.
        revoke_for_agent(session, agent_id, reason=f"agent revoked by {actor}")
        record(session, actor=actor, action="agent.revoke", target=agent_id, sites=[agent.site_id])


# Built once: every agent request asks the first (a statement built per call costs its cache key).
_BY_KEY = select(Agent).where(Agent.key_hash == bindparam("digest"))
_BY_PENDING_KEY = select(Agent).where(Agent.pending_key_hash == bindparam("digest"))


def authenticate_agent(session: Session, key: str) -> Agent | None:
    """The agent holding ``key``. The first use of a rotated key retires the key it replaces."""
    digest = token_hash(key)
    agent = session.exec(_BY_KEY, params={"digest": digest}).first()
    if agent is not None:
        return agent
    agent = session.exec(_BY_PENDING_KEY, params={"digest": digest}).first()
    if agent is None or agent.revoked_at is not None:
        return agent
    agent.key_hash, agent.pending_key_hash, agent.key_rotated_at = digest, None, utcnow()
    session.add(agent)
    record(
        session, actor=f"agent:{agent.id}", action="agent.key_rotated", target=agent.id, sites=[agent.site_id]
    )
    return agent


def rotate_agent_key(session: Session, *, agent: Agent, address: str | None = None) -> str:
    """A new key for ``agent``; the current one keeps working until the new one is first used."""
    key = new_token("wwa")
    agent.pending_key_hash = token_hash(key)
    session.add(agent)
    record(
        session,
        actor=f"agent:{agent.id}",
        action="agent.key_rotation",
        target=agent.id,
        address=address,
        sites=[agent.site_id],
    )
    session.flush()
    return key
