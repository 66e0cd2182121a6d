"""The audit log: who did what, when, from which address."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

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
