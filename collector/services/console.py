"""Read-side queries the web console and the admin API need: agents, enroll secrets, site summaries.

Scope-aware like ``collector.services.devices``: ``scope`` is the site ids a user may see (None: all).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from collector.models.core import Agent, Device, DeviceResult, DeviceSection, EnrollSecret, Site
from collector.models.types import utcnow
from collector.services.errors import NotFound

Scope = Collection[int] | None


@dataclass
class AgentRow:
    agent: Agent
    site_code: str
    device_count: int
    stale: bool

    @property
    def revoked(self) -> bool:
        return self.agent.revoked_at is not None


def is_stale(last_seen: datetime | None, *, stale_minutes: int, now: datetime | None = None) -> bool:
    """Silent for longer than ``stale_minutes`` (an agent that never reported is stale too)."""
    now = now or utcnow()
    return last_seen is None or last_seen < now - timedelta(minutes=stale_minutes)


def list_agents(
    session: Session, *, scope: Scope, stale_minutes: int, include_revoked: bool = True
) -> list[AgentRow]:
    counts = dict(
        session.exec(select(Device.agent_id, func.count(col(Device.id))).group_by(col(Device.agent_id))).all()
    )
    q = select(Agent, Site.code).join(Site, col(Site.id) == col(Agent.site_id)).order_by(Site.code)
    if scope is not None:
        q = q.where(col(Agent.site_id).in_(scope))
    if not include_revoked:
        q = q.where(col(Agent.revoked_at).is_(None))
    now = utcnow()
    rows = [
        AgentRow(
            agent=agent,
            site_code=code,
            device_count=int(counts.get(agent.id, 0)),
            stale=agent.revoked_at is None
            and is_stale(agent.last_seen_at, stale_minutes=stale_minutes, now=now),
        )
        for agent, code in session.exec(q).all()
    ]
    return sorted(rows, key=lambda r: (r.site_code, (r.agent.hostname or "").lower(), r.agent.id))


def get_agent(session: Session, agent_id: str, *, scope: Scope) -> Agent:
    agent = session.get(Agent, agent_id)
    if agent is None or (scope is not None and agent.site_id not in scope):
        raise NotFound("no agent %(agent_id)s", agent_id=agent_id)
    return agent


@dataclass
class SecretRow:
    secret: EnrollSecret
    site_code: str

    @property
    def active(self) -> bool:
        s = self.secret
        return s.revoked_at is None and (s.expires_at is None or s.expires_at > utcnow()) and not self.used_up

    @property
    def used_up(self) -> bool:
        return self.secret.max_uses is not None and self.secret.uses >= self.secret.max_uses


def list_enroll_secrets(session: Session, *, scope: Scope) -> list[SecretRow]:
    q = (
        select(EnrollSecret, Site.code)
        .join(Site, col(Site.id) == col(EnrollSecret.site_id))
        .order_by(col(EnrollSecret.created_at).desc())
    )
    if scope is not None:
        q = q.where(col(EnrollSecret.site_id).in_(scope))
    return [SecretRow(s, code) for s, code in session.exec(q).all()]


def get_enroll_secret(session: Session, secret_id: int, *, scope: Scope) -> EnrollSecret:
    row = session.get(EnrollSecret, secret_id)
    if row is None or (scope is not None and row.site_id not in scope):
        raise NotFound("no enroll secret %(secret_id)s", secret_id=secret_id)
    return row


@dataclass
class DeviceRow:
    device: Device
    os: str | None
    failed: int
    stale: bool


def site_device_rows(
    session: Session, site_id: int, *, stale_minutes: int, search: str | None = None
) -> list[DeviceRow]:
    """A site's devices with their OS name and count of failing checks, for the site page."""
    q = select(Device).where(Device.site_id == site_id).order_by(Device.hostname)
    if search:
        q = q.where(col(Device.hostname).icontains(search, autoescape=True))
    devices = list(session.exec(q).all())
    ids = [d.id for d in devices]
    failed = dict(
        session.exec(
            select(DeviceResult.device_id, func.count(col(DeviceResult.id)))
            .where(col(DeviceResult.device_id).in_(ids), DeviceResult.status == "fail")
            .group_by(col(DeviceResult.device_id))
        ).all()
    )
    os_rows = session.exec(
        select(DeviceSection.device_id, DeviceSection.data).where(
            col(DeviceSection.device_id).in_(ids), DeviceSection.section == "os"
        )
    ).all()
    os_names = {
        did: " ".join(str(p) for p in (data.get("name"), data.get("version")) if p)
        for did, data in os_rows
        if isinstance(data, dict)
    }
    now = utcnow()
    return [
        DeviceRow(
            device=d,
            os=os_names.get(d.id or 0),
            failed=int(failed.get(d.id, 0)),
            stale=is_stale(d.last_report_at, stale_minutes=stale_minutes, now=now),
        )
        for d in devices
    ]


def clones_of(session: Session, device_id: int) -> list[Device]:
    """Devices flagged as clones of this one (same machine id, different serial or MAC)."""
    return list(session.exec(select(Device).where(Device.clone_of_id == device_id)).all())


def site_of(session: Session, site_id: int) -> Site:
    site = session.get(Site, site_id)
    if site is None:
        raise NotFound("no site %(site_id)s", site_id=site_id)
    return site
