"""Findings of the city: by site, group, device, severity, status (open by default) and check, most
severe first; sortable by first seen, due date, device, site or check."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Integer, and_, func, literal, literal_column, or_
from sqlmodel import Session, col, select

from collector.models.core import Device, Site
from collector.models.findings import Finding, FindingStatus
from collector.models.ranking import SEVERITY_RANK_SQL
from collector.models.types import UTCDateTime
from collector.services import paging
from collector.services.search import contains_pattern
from collector.services.tables.base import (
    Column,
    Filter,
    Scope,
    Table,
    group_site_ids,
    int_filter,
    site_id_of,
)

SEVERITIES = ("critical", "high", "medium", "low", "info")
STATUSES = ("open", "accepted", "resolved")
# The same CASE as the expression index ix_finding_severity_rank (collector/models/ranking.py), with
# inline constants: PostgreSQL then walks that index for the default sort instead of sorting.
SEVERITY_RANK = literal_column(SEVERITY_RANK_SQL.replace("severity =", "finding.severity ="), Integer())
FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)
DUE = func.coalesce(col(Finding.due_at), literal(FAR_FUTURE, UTCDateTime()))

# The query reads the finding table alone (sorting and cutting a page before any join); the device's
# hostname and the site's code are looked up for the rows of the page, or as a sort key when asked.
HOSTNAME = select(Device.hostname).where(Device.id == Finding.device_id).correlate(Finding).scalar_subquery()
SITE_CODE = select(Site.code).where(Site.id == Finding.site_id).correlate(Finding).scalar_subquery()

SORTING = paging.Sorting(
    keys=(
        paging.SortKey("severity", (SEVERITY_RANK, col(Finding.first_seen_at))),
        paging.SortKey("first_seen", (col(Finding.first_seen_at),)),
        paging.SortKey("due", (DUE,)),
        paging.SortKey("device", (HOSTNAME,)),
        paging.SortKey("site", (SITE_CODE, SEVERITY_RANK)),
        paging.SortKey("check", (col(Finding.check_id),)),
    ),
    tiebreak=col(Finding.id),
    default="severity",
)

COLUMNS = (
    Column("title", "Finding", kind="check_title", sort="check", width=44),
    Column("severity", "Severity", kind="severity", sort="severity", width=12),
    Column("status", "Status", kind="finding_status", width=14),
    Column("device", "Device", sort="device", width=24),
    Column("site", "Site", sort="site", width=22),
    Column("first_seen", "First seen", kind="datetime", sort="first_seen", secondary=True, width=18),
    Column("due", "Due date", kind="datetime", sort="due", width=18),
    Column("evidence", "Evidence", "evidence", secondary=True, width=40),
)

FILTERS = (
    Filter("q", "Text", placeholder="firewall"),
    Filter("site", "Site", kind="site"),
    Filter("group", "Group", kind="group"),
    Filter(
        "severity",
        "Severity",
        kind="select",
        choices=tuple((s, s.capitalize()) for s in SEVERITIES[:4]) + (("info", "Information"),),
    ),
    Filter(
        "status",
        "Status",
        kind="select",
        choices=(("open", "Open finding"), ("accepted", "Risk accepted"), ("resolved", "Resolved")),
    ),
    Filter("check", "Check", placeholder="host.firewall.enabled"),
    Filter("device", "Device", kind="hidden"),
)


def status_condition(status: str, now: datetime) -> Any:
    """Findings whose effective status is ``status``: an acceptance that ran out counts as open.

    Written as conditions on the stored columns (not a CASE), so an index on the status serves them.
    """
    expired = and_(Finding.status == FindingStatus.ACCEPTED, col(Finding.accepted_until) <= now)
    if status == FindingStatus.OPEN:
        return or_(Finding.status == FindingStatus.OPEN, expired)
    if status == FindingStatus.ACCEPTED:
        return and_(Finding.status == FindingStatus.ACCEPTED, col(Finding.accepted_until) > now)
    return Finding.status == status


def build(session: Session, *, scope: Scope, filters: Mapping[str, str], now: datetime, **_: Any) -> Any:
    q = select(Finding)
    if scope is not None:
        q = q.where(col(Finding.site_id).in_(list(scope)))
    if filters.get("site"):
        q = q.where(Finding.site_id == site_id_of(session, filters["site"], scope))
    if filters.get("group"):
        q = q.where(col(Finding.site_id).in_(group_site_ids(session, filters["group"], scope)))
    device = int_filter(filters, "device")
    if device is not None:
        q = q.where(Finding.device_id == device)
    if filters.get("severity"):
        q = q.where(Finding.severity == filters["severity"])
    if filters.get("status"):
        q = q.where(status_condition(filters["status"], now))
    if filters.get("check"):
        q = q.where(col(Finding.check_id).ilike(contains_pattern(filters["check"]), escape="/"))
    if filters.get("q"):
        like = contains_pattern(filters["q"])
        q = q.where(
            or_(
                col(Finding.check_id).ilike(like, escape="/"),
                col(Finding.evidence).ilike(like, escape="/"),
                col(Finding.target).ilike(like, escape="/"),
                col(Finding.device_id).in_(
                    select(Device.id).where(col(Device.hostname).ilike(like, escape="/"))
                ),
            )
        )
    return q


def _status(f: Finding, now: datetime) -> str:
    if f.status == FindingStatus.ACCEPTED and f.accepted_until and f.accepted_until <= now:
        return FindingStatus.OPEN.value
    return f.status


def shape(session: Session, rows: list[Any], *, now: datetime, **_: Any) -> list[dict[str, Any]]:
    devices = {
        d.id: d for d in session.exec(select(Device).where(col(Device.id).in_({f.device_id for f in rows})))
    }
    sites = {s.id: s for s in session.exec(select(Site).where(col(Site.id).in_({f.site_id for f in rows})))}
    out = []
    for f in rows:
        device, site = devices[f.device_id], sites[f.site_id]
        status = _status(f, now)
        overdue = status == FindingStatus.OPEN and f.due_at is not None and f.due_at < now
        out.append(
            {
                "id": f.id,
                "title": f.check_id,
                "title_href": f"/findings/{f.id}",
                "title_note": f.target or "",
                "title_flag": None if f.known else "unknown",
                "check_id": f.check_id,
                "target": f.target,
                "severity": f.severity,
                "status": status,
                "device": device.hostname,
                "device_id": device.id,
                "device_href": f"/devices/{device.id}",
                "site": site.code,
                "site_href": f"/sites/{site.code}",
                "first_seen": f.first_seen_at,
                "due": None if status == FindingStatus.RESOLVED else f.due_at,
                "due_flag": "overdue" if overdue else None,
                "overdue": overdue,
                "evidence": {"text": f.evidence, "message": f.evidence_message},
            }
        )
    return out


TABLE = Table(
    name="findings",
    title="Findings",
    columns=COLUMNS,
    filters=FILTERS,
    sorting=SORTING,
    export_stem="ton-tai-han-che",
    build=build,
    shape=shape,
    defaults={"status": "open"},
)
