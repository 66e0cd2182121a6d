"""Daily snapshots: every site's compliance and open findings, one row per site and Vietnamese day.

The one module that writes and reads snapshots (per-device snapshots and scheduled jobs belong here
too). ``record_site`` is called by the ingest hook after each report, so a site's row for today always
holds its latest state and the last report of a day leaves that day's figures; ``record_all`` writes
every site at once (for a daily job, or a site no agent reported from). The overview reads
``history`` for its 30- and 90-day trends.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, delete, func, or_, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from collector.localtime import local_date, now_utc
from collector.models.core import Device, DeviceResult, Site
from collector.models.findings import Finding, FindingStatus
from collector.models.snapshots import CityDaily, SiteCurrent, SiteDaily


@dataclass
class SiteFigures:
    devices: int = 0
    passed: int = 0
    failed: int = 0
    open_critical: int = 0
    open_high: int = 0
    open_total: int = 0

    @property
    def score(self) -> float | None:
        judged = self.passed + self.failed
        return self.passed / judged if judged else None


def open_condition(now: datetime) -> Any:
    """Open findings, an acceptance that ran out counting as open again."""
    expired = and_(Finding.status == FindingStatus.ACCEPTED, col(Finding.accepted_until) <= now)
    return or_(Finding.status == FindingStatus.OPEN, expired)


def _scoped(q: Any, column: Any, site_ids: Collection[int] | None) -> Any:
    return q.where(column.in_(list(site_ids))) if site_ids is not None else q


def figures(
    session: Session, *, site_ids: Collection[int] | None, now: datetime | None = None
) -> dict[int, SiteFigures]:
    """The current figures of these sites (None: every site), by site id, in three grouped queries."""
    now = now or now_utc()
    out = compliance_figures(session, site_ids=site_ids)
    for site_id, (critical, high, total) in open_findings(session, site_ids=site_ids, now=now).items():
        f = out.setdefault(site_id, SiteFigures())
        f.open_critical, f.open_high, f.open_total = critical, high, total
    return out


def compliance_figures(session: Session, *, site_ids: Collection[int] | None) -> dict[int, SiteFigures]:
    """Devices and latest check results (passed, failed) per site."""
    out: dict[int, SiteFigures] = {}
    q = _scoped(
        select(Device.site_id, func.count()).group_by(col(Device.site_id)), col(Device.site_id), site_ids
    )
    for site_id, n in session.exec(q).all():
        out.setdefault(site_id, SiteFigures()).devices = int(n)
    q = _scoped(
        select(
            Device.site_id,
            func.sum(case((col(DeviceResult.status) == "pass", 1), else_=0)),
            func.sum(case((col(DeviceResult.status) == "fail", 1), else_=0)),
        )
        .join(Device, col(Device.id) == col(DeviceResult.device_id))
        .group_by(col(Device.site_id)),
        col(Device.site_id),
        site_ids,
    )
    for site_id, passed, failed in session.exec(q).all():
        f = out.setdefault(site_id, SiteFigures())
        f.passed, f.failed = int(passed or 0), int(failed or 0)
    return out


def open_findings(
    session: Session, *, site_ids: Collection[int] | None, now: datetime
) -> dict[int, tuple[int, int, int]]:
    """(critical, high, all) open findings per site; an acceptance that ran out counts as open."""
    q = _scoped(
        select(Finding.site_id, Finding.severity, func.count())
        .where(open_condition(now))
        .group_by(col(Finding.site_id), col(Finding.severity)),
        col(Finding.site_id),
        site_ids,
    )
    out: dict[int, tuple[int, int, int]] = {}
    for site_id, severity, n in session.exec(q).all():
        critical, high, total = out.get(site_id, (0, 0, 0))
        n = int(n)
        out[site_id] = (
            critical + (n if severity == "critical" else 0),
            high + (n if severity == "high" else 0),
            total + n,
        )
    return out


def _upsert(session: Session, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    daily, current = _upsert_statements(session.get_bind().dialect.name)
    session.exec(daily, params=rows)
    session.exec(current, params=[{**r, "percent": _exact_percent(r)} for r in rows])
    # A snapshot of a past day changes the city's figures from that day on: they are counted again.
    past = [r["day"] for r in rows if r["day"] < local_date(now_utc())]
    if past:
        forget_city_days(session, since=min(past))


@functools.cache  # one pair per dialect: built once, not for every site's snapshot
def _upsert_statements(dialect: str) -> tuple[Any, Any]:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(SiteDaily)
    values = ("devices", "passed", "failed", "open_critical", "open_high", "open_total", "updated_at")
    stmt = stmt.on_conflict_do_update(
        index_elements=["site_id", "day"], set_={k: getattr(stmt.excluded, k) for k in values}
    )
    # The same figures as each site's current row, unless it already holds a newer day (a snapshot
    # written for a past day, as a back-fill does, must not replace today's).
    current = insert(SiteCurrent)
    kept = (*values, "day", "percent")
    current = current.on_conflict_do_update(
        index_elements=["site_id"],
        set_={k: getattr(current.excluded, k) for k in kept},
        where=col(SiteCurrent.day) <= current.excluded.day,
    )
    return stmt, current


def forget_city_days(session: Session, *, since: date | None = None) -> None:
    """Drop the stored city figures from ``since`` (None: all); the overview counts them again."""
    q = delete(CityDaily)
    session.exec(q.where(col(CityDaily.day) >= since) if since else q)


def _exact_percent(row: dict[str, Any]) -> float | None:
    judged = row["passed"] + row["failed"]
    return 100 * row["passed"] / judged if judged else None


def _row(site_id: int, day: date, f: SiteFigures, now: datetime) -> dict[str, Any]:
    return {
        "site_id": site_id,
        "day": day,
        "devices": f.devices,
        "passed": f.passed,
        "failed": f.failed,
        "open_critical": f.open_critical,
        "open_high": f.open_high,
        "open_total": f.open_total,
        "updated_at": now,
    }


def record_site(session: Session, *, site_id: int, now: datetime | None = None) -> None:
    """Write (or overwrite) today's snapshot of one site with its current figures.

    On PostgreSQL the site's row is locked first: two reports of one site ingested at once write
    their snapshots one after the other, the second counting the first's results (under READ
    COMMITTED each would otherwise miss the other's and the last writer would leave a stale row).
    Whoever moves devices between sites records both sites afterwards.
    """
    now = now or now_utc()
    if session.get_bind().dialect.name == "postgresql":
        # FOR NO KEY UPDATE: it still serialises two snapshot writers, but does not wait for the
        # KEY SHARE lock every insert referencing the site takes (FOR UPDATE did: two reports of one
        # site, each holding that share lock and waiting for the other's, deadlocked).
        session.exec(select(Site.id).where(Site.id == site_id).with_for_update(key_share=True)).first()
    _upsert(session, [_row(site_id, local_date(now), _site_figures(session, site_id, now), now)])


def _site_figures(session: Session, site_id: int, now: datetime) -> SiteFigures:
    """``figures`` of one site in one statement (not three): its device count and two aggregate
    subqueries without GROUP BY, each exactly one row, joined."""
    q = _site_figures_statement()
    n, passed, failed, critical, high, total = session.exec(q, params={"site_id": site_id, "now": now}).one()
    return SiteFigures(
        devices=int(n or 0),
        passed=int(passed or 0),
        failed=int(failed or 0),
        open_critical=int(critical or 0),
        open_high=int(high or 0),
        open_total=int(total or 0),
    )


@functools.cache  # built once with the site and the time as parameters, not per snapshot
def _site_figures_statement() -> Any:
    site: Any = bindparam("site_id")
    devices = select(func.count()).select_from(Device).where(col(Device.site_id) == site)
    results = (
        select(
            func.sum(case((col(DeviceResult.status) == "pass", 1), else_=0)).label("passed"),
            func.sum(case((col(DeviceResult.status) == "fail", 1), else_=0)).label("failed"),
        )
        .join(Device, col(Device.id) == col(DeviceResult.device_id))
        .where(col(Device.site_id) == site)
        .subquery()
    )
    findings = (
        select(
            func.sum(case((col(Finding.severity) == "critical", 1), else_=0)).label("critical"),
            func.sum(case((col(Finding.severity) == "high", 1), else_=0)).label("high"),
            func.count().label("total"),
        )
        .where(col(Finding.site_id) == site, open_condition(bindparam("now")))
        .subquery()
    )
    return select(
        devices.scalar_subquery(),
        results.c.passed,
        results.c.failed,
        findings.c.critical,
        findings.c.high,
        findings.c.total,
    ).select_from(results.join(findings, true()))


def record_all(session: Session, *, now: datetime | None = None) -> int:
    """Write today's snapshot of every site; returns how many."""
    now = now or now_utc()
    ids = [i for i in session.exec(select(Site.id)).all() if i is not None]
    current = figures(session, site_ids=None, now=now)
    day = local_date(now)
    _upsert(session, [_row(i, day, current.get(i, SiteFigures()), now) for i in ids])
    return len(ids)


def history(session: Session, *, site_ids: Collection[int] | None, since: date) -> dict[int, list[SiteDaily]]:
    """Snapshots from ``since`` (and the last one before it, the baseline of a trend), oldest first."""
    # A baseline up to a month older than the window: a site quiet for a while still has a trend.
    q = select(SiteDaily).where(col(SiteDaily.day) >= since - timedelta(days=31))
    if site_ids is not None:
        q = q.where(col(SiteDaily.site_id).in_(list(site_ids)))
    out: dict[int, list[SiteDaily]] = {}
    for row in session.exec(q.order_by(col(SiteDaily.site_id), col(SiteDaily.day))).all():
        out.setdefault(row.site_id, []).append(row)
    for site_id, rows in out.items():
        before = [r for r in rows if r.day < since]
        out[site_id] = before[-1:] + [r for r in rows if r.day >= since]
    return out
