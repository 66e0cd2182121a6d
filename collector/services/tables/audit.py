"""The audit log as a table: newest first; filtered by who, action (a prefix), target, address and a
range of Vietnamese calendar days."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from collector.i18n import N_, parse_user_date
from collector.localtime import start_of_day
from collector.models.core import AuditEvent
from collector.services import audit, paging
from collector.services.errors import ServiceError
from collector.services.tables.base import Column, Filter, Scope, Table

SORTING = paging.Sorting(
    keys=(
        paging.SortKey("at", (col(AuditEvent.at),)),
        paging.SortKey("actor", (col(AuditEvent.actor), col(AuditEvent.at))),
        paging.SortKey("action", (col(AuditEvent.action), col(AuditEvent.at))),
    ),
    tiebreak=col(AuditEvent.id),
    default="-at",
)

COLUMNS = (
    Column("at", "When", kind="datetime", sort="at", width=18),
    Column("actor", "Who", sort="actor", width=20),
    Column("action", "Action", sort="action", width=24),
    Column("target", "Target", width=28),
    Column("address", "Address", secondary=True, width=16),
    Column("detail", "Detail", "audit_detail", secondary=True, width=50),
)

FILTERS = (
    Filter("actor", "Who"),
    Filter("action", "Action", kind="action"),
    Filter("target", "Target"),
    Filter("address", "Address"),
    Filter("since", "From", kind="date"),
    Filter("until", "To", kind="date"),
)


def _day(filters: Mapping[str, str], name: str) -> Any:
    value = filters.get(name)
    if not value:
        return None
    day = parse_user_date(value)
    if day is None:
        raise ServiceError("%(name)s: write the date as dd/mm/yyyy", name=name)
    return day


def build(session: Session, *, scope: Scope, filters: Mapping[str, str], now: datetime, **_: Any) -> Any:
    # A scoped administrator reads only events about its own sites (services.audit.visible_in).
    q = select(AuditEvent).where(*audit.visible_in(scope))
    if filters.get("actor"):
        q = q.where(col(AuditEvent.actor).icontains(filters["actor"], autoescape=True))
    if filters.get("action"):
        q = q.where(col(AuditEvent.action).startswith(filters["action"], autoescape=True))
    if filters.get("address"):
        q = q.where(AuditEvent.address == filters["address"])
    if filters.get("target"):
        q = q.where(col(AuditEvent.target).icontains(filters["target"], autoescape=True))
    since, until = _day(filters, "since"), _day(filters, "until")
    # Days are the user's calendar days in Vietnam; "to" includes that whole day.
    if since is not None:
        q = q.where(col(AuditEvent.at) >= start_of_day(since))
    if until is not None:
        q = q.where(col(AuditEvent.at) < start_of_day(until) + timedelta(days=1))
    return q


# What the keys of an audit event's detail are called for people (values are data).
DETAIL_LABELS: dict[str, str] = {
    "device_id": N_("device"),
    "version": N_("version"),
    "previous": N_("previous version"),
    "hostname": N_("device name"),
    "role": N_("role"),
    "sites": N_("communes"),
    "label": N_("label"),
    "valid_days": N_("valid (days)"),
    "max_uses": N_("maximum uses"),
    "public": N_("public"),
    "kind": N_("kind"),
    "subject": N_("subject"),
    "tsa": N_("timestamp server"),
    "score": N_("score"),
}


def _detail(detail: Any) -> dict[str, Any]:
    """The detail as it is stored; the console and exports label its keys in the reader's language."""
    return detail if isinstance(detail, dict) else {}


def detail_text(detail: dict[str, Any], _: Any) -> str:
    parts = []
    for k, v in detail.items():
        if isinstance(v, list):
            v = ", ".join(str(x) for x in v)
        elif isinstance(v, bool):
            v = _("yes") if v else _("no")
        elif v is None:
            v = "—"
        parts.append(f"{_(DETAIL_LABELS[k]) if k in DETAIL_LABELS else k}: {v}")
    return "; ".join(parts)


def shape(session: Session, rows: list[Any], *, now: datetime, **_: Any) -> list[dict[str, Any]]:
    return [
        {
            "id": e.id,
            "at": e.at,
            "actor": e.actor,
            "action": e.action,
            "action_flag": "warn" if e.action.endswith(("failed", "locked", "throttled")) else None,
            # Failed anonymous attempts are counted per address and minute on one row.
            "action_note": f"× {e.count}" if (e.count or 1) > 1 else None,
            "target": e.target or "",
            "address": e.address or "",
            "detail": _detail(e.detail),
        }
        for e in rows
    ]


TABLE = Table(
    name="audit",
    title="Audit log",
    columns=COLUMNS,
    filters=FILTERS,
    sorting=SORTING,
    export_stem="nhat-ky-hoat-dong",
    build=build,
    shape=shape,
)
