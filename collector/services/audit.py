"""The audit log: who did what, when, from which address."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from collector.models.core import AuditEvent


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str | None = None,
    address: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    session.add(AuditEvent(actor=actor, action=action, target=target, address=address, detail=detail))


@dataclass
class AuditPage:
    events: list[AuditEvent]
    total: int


def query(
    session: Session,
    *,
    actor: str | None = None,
    action: str | None = None,
    address: str | None = None,
    target: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> AuditPage:
    """Events newest first. ``actor``/``target`` match a substring (any case), ``action`` a prefix (``login``
    finds ``login``, ``login.failed``...), ``address`` exactly; ``since``/``until`` bound ``at``."""
    conds: list[Any] = []
    if actor:
        conds.append(col(AuditEvent.actor).icontains(actor, autoescape=True))
    if action:
        conds.append(col(AuditEvent.action).startswith(action, autoescape=True))
    if address:
        conds.append(AuditEvent.address == address)
    if target:
        conds.append(col(AuditEvent.target).icontains(target, autoescape=True))
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


def known_actions(session: Session) -> list[str]:
    return sorted(session.exec(select(AuditEvent.action).distinct()).all())
