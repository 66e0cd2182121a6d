"""The audit log: who did what, when, from which address, concerning which sites.

An event names the sites it concerns (``AuditEventSite``); an administrator limited to some sites sees
an event only when it concerns at least one site and all of them are theirs. Events that concern no site
(city-wide settings, logins of unscoped users, anonymous failures) are for unscoped administrators.

Failed anonymous attempts (wrong passwords, wrong enroll secrets, unknown agent keys) are counted, not
listed: one row per (kind, address, minute) whose ``count`` grows, so a flood cannot fill the log.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func
from sqlmodel import Session, col, select

from collector.models.core import AuditEvent
from collector.models.security import AuditEventSite
from collector.models.types import utcnow

Scope = Collection[int] | None


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str | None = None,
    address: str | None = None,
    detail: dict[str, Any] | None = None,
    sites: Iterable[int | None] | None = None,
) -> AuditEvent:
    event = AuditEvent(actor=actor[:150], action=action, target=target, address=address, detail=detail)
    session.add(event)
    site_ids = sorted({s for s in sites or () if s is not None})
    if site_ids:
        session.flush()
        session.add_all(AuditEventSite(event_id=event.id or 0, site_id=s) for s in site_ids)
    return event


def count_failure(
    session: Session, *, action: str, address: str | None, detail: dict[str, Any] | None = None
) -> None:
    """Add one failed anonymous attempt to this minute's row for (action, address)."""
    now = utcnow()
    minute = now.replace(second=0, microsecond=0)
    addr = (address or "unknown")[:64]
    bucket = f"{action}|{addr}|{minute:%Y%m%d%H%M}"
    table = AuditEvent.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
    values = {
        "at": minute,
        "actor": "anonymous",
        "action": action,
        "address": addr,
        "detail": detail,
        "count": 1,
        "bucket": bucket,
    }
    from sqlalchemy.dialects import postgresql, sqlite

    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = insert(table).values(**values)
    stmt = stmt.on_conflict_do_update(index_elements=[table.c.bucket], set_={"count": table.c.count + 1})
    session.execute(stmt)


def failures_since(
    session: Session, *, address: str | None, actions: Collection[str], since: datetime
) -> int:
    """Failed anonymous attempts of ``actions`` from ``address`` counted since ``since``."""
    q = select(func.coalesce(func.sum(AuditEvent.count), 0)).where(
        AuditEvent.address == (address or "unknown")[:64],
        col(AuditEvent.bucket).is_not(None),
        col(AuditEvent.action).in_(actions),
        col(AuditEvent.at) >= since.replace(second=0, microsecond=0),
    )
    return int(session.exec(q).one())


def visible_in(scope: Scope) -> list[Any]:
    """Conditions keeping the events an administrator of ``scope`` may read (none for every site)."""
    if scope is None:
        return []
    concerns = AuditEventSite.event_id == AuditEvent.id
    return [
        exists().where(concerns),
        ~exists().where(concerns, col(AuditEventSite.site_id).not_in(list(scope))),
    ]


@dataclass
class AuditPage:
    events: list[AuditEvent]
    total: int


def query(
    session: Session,
    *,
    scope: Scope = None,
    actor: str | None = None,
    action: str | None = None,
    address: str | None = None,
    target: str | None = None,
    site_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> AuditPage:
    """Events ``scope`` may read, newest first. ``actor``/``target`` match a substring (any case),
    ``action`` a prefix (``login`` finds ``login``, ``login.failed``...), ``address`` exactly,
    ``site_id`` an event concerning that site; ``since``/``until`` bound ``at``."""
    conds: list[Any] = visible_in(scope)
    if actor:
        conds.append(col(AuditEvent.actor).icontains(actor, autoescape=True))
    if action:
        conds.append(col(AuditEvent.action).startswith(action, autoescape=True))
    if address:
        conds.append(AuditEvent.address == address)
    if target:
        conds.append(col(AuditEvent.target).icontains(target, autoescape=True))
    if site_id is not None:
        conds.append(
            exists().where(AuditEventSite.event_id == AuditEvent.id, AuditEventSite.site_id == site_id)
        )
    if since is not None:
        conds.append(col(AuditEvent.at) >= since)
    if until is not None:
        conds.append(col(AuditEvent.at) < until)
    total = int(session.exec(select(func.count(col(AuditEvent.id))).where(*conds)).one())
    q = (
        select(AuditEvent)
        .where(*conds)
        .order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
        .offset(offset)
        .limit(limit)
    )
    return AuditPage(list(session.exec(q).all()), total)


def known_actions(session: Session, *, scope: Scope = None) -> list[str]:
    q = select(AuditEvent.action).where(*visible_in(scope)).distinct()
    return sorted(session.exec(q).all())
