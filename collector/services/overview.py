"""The city overview: per commune, its compliance and 30/90-day trend, open critical and high findings,
silent agents, certificates expiring within 30 days, devices to replace; worst commune first, a page
at a time.

A site's compliance, device count and open critical/high findings are its latest snapshot, kept in
``site_current`` (``collector.services.snapshots``): every report rewrites it, so it is the current
figure without aggregating every check result and finding of the city (seconds at 100,000 devices).
The communes are paged worst first by keyset over those stored rows; only the visible page's other
figures (silent agents, certificates, replacements, sparklines) are counted, for its few sites. The
city's cards are sums over the stored rows and single counts; its 90-day series reads ``city_daily``
(the whole city's finished days, counted once) or, for a scope or a group, is one grouped query over
those sites' ``site_daily`` rows. A site with no snapshot yet is computed live and sorts after those with one.
The trends carry a site's last snapshot forward over days nobody reported.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import Float, cast, func, literal, or_, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from collector.localtime import local_date, now_utc
from collector.models.assets import ScoreCategory
from collector.models.certificates import DeviceCertificate
from collector.models.core import Agent, Device, Site
from collector.models.ranking import DeviceScoreCurrent
from collector.models.snapshots import CityDaily, SiteCurrent, SiteDaily
from collector.services import paging, snapshots
from collector.settings import CollectorSettings

if TYPE_CHECKING:
    from collector.scheduler import Scheduler

TREND_DAYS = (30, 90)
SERIES_DAYS = 91  # today and the 90 days before: the 90-day trend has its baseline
CERT_DAYS = 30
PAGE_SIZE = 50


@dataclass
class Trend:
    """Compliance (0-100) now, and its change over the last 30 and 90 days (None: no data then)."""

    percent: float | None = None
    change: dict[int, float | None] = field(default_factory=dict)
    series: list[float | None] = field(default_factory=list)  # one point a day, oldest first


@dataclass
class SiteRow:
    site: Site
    devices: int = 0
    trend: Trend = field(default_factory=Trend)
    open_critical: int = 0
    open_high: int = 0
    stale_agents: int = 0
    certs_expiring: int = 0
    replace_now: int = 0
    replace_12_months: int = 0
    last_report_at: datetime | None = None

    @property
    def percent(self) -> float | None:
        return self.trend.percent


@dataclass
class CityOverview:
    rows: list[SiteRow]  # worst first
    city: SiteRow  # the totals (its ``site`` is a stand-in)
    days: list[date]  # the series' days, oldest first
    groups: list[str]
    group: str | None
    next_cursor: str | None = None
    prev_cursor: str | None = None
    sites: int = 0  # how many communes the table pages through


def _percent(passed: int, failed: int) -> float | None:
    judged = passed + failed
    return round(100 * passed / judged, 1) if judged else None


def _history(session: Session, site_ids: list[int], *, since: date) -> dict[int, list[Any]]:
    """``snapshots.history`` of the page's sites as plain rows (day, passed, failed): building 6,000
    SiteDaily objects cost 150 ms, the rows themselves a few."""
    q = (
        select(SiteDaily.site_id, SiteDaily.day, SiteDaily.passed, SiteDaily.failed)
        .where(col(SiteDaily.site_id).in_(site_ids), col(SiteDaily.day) >= since - timedelta(days=31))
        .order_by(col(SiteDaily.site_id), col(SiteDaily.day))
    )
    out: dict[int, list[Any]] = {}
    for site_id, day, passed, failed in session.exec(q).all():
        out.setdefault(site_id, []).append(_Kept(day, passed, failed))
    for site_id, rows in out.items():
        before = [r for r in rows if r.day < since]
        out[site_id] = before[-1:] + [r for r in rows if r.day >= since]
    return out


class _Kept(NamedTuple):
    day: date
    passed: int
    failed: int


def _series(rows: list[Any], days: list[date]) -> list[tuple[int, int] | None]:
    """(passed, failed) in force on each day, carrying the last snapshot forward."""
    out: list[tuple[int, int] | None] = []
    i, current = 0, None
    for day in days:
        while i < len(rows) and rows[i].day <= day:
            current = rows[i]
            i += 1
        out.append((current.passed, current.failed) if current else None)
    return out


def _trend(points: list[tuple[int, int] | None], now_value: tuple[int, int], days: list[date]) -> Trend:
    series = [_percent(*p) if p else None for p in points]
    series[-1] = _percent(*now_value)  # today is the live figure, not the last snapshot
    percent = series[-1]
    change: dict[int, float | None] = {}
    for span in TREND_DAYS:
        index = len(days) - 1 - span
        # The series covers SERIES_DAYS days; an older baseline is the first point we have.
        then = series[index] if index >= 0 else series[0]
        change[span] = None if percent is None or then is None else round(percent - then, 1)
    return Trend(percent=percent, change=change, series=series)


# Worst first: lowest compliance (none judged yet last), then most open critical and high findings, then
# code; the site id breaks ties for the keyset. Silent agents and expiring certificates change with the
# clock, not with a write, so they are shown but do not order the table.
_NO_PERCENT = 1000.0
SORTING = paging.Sorting(
    keys=(
        paging.SortKey(
            "worst",
            (
                func.coalesce(col(SiteCurrent.percent), cast(literal(_NO_PERCENT), Float)),
                -func.coalesce(col(SiteCurrent.open_critical), 0),
                -func.coalesce(col(SiteCurrent.open_high), 0),
                col(Site.code),
            ),
        ),
    ),
    tiebreak=col(Site.id),
    default="worst",
)


def _site_filter(q: Any, column: Any, scope: Collection[int] | None, group: str | None) -> Any:
    if scope is not None:
        q = q.where(column.in_(list(scope)))
    if group:
        q = q.where(column.in_(select(Site.id).where(Site.group_name == group)))
    return q


def city_overview(
    session: Session,
    *,
    scope: Collection[int] | None,
    stale_minutes: int,
    group: str | None = None,
    now: datetime | None = None,
    cursor: str | None = None,
    limit: int = PAGE_SIZE,
) -> CityOverview:
    now = now or now_utc()
    today = local_date(now)
    group = group or None
    days = [today - timedelta(days=n) for n in range(SERIES_DAYS - 1, -1, -1)]
    cutoff = now - timedelta(minutes=stale_minutes)

    city, sites = _city(session, scope=scope, group=group, now=now, days=days)
    group_q = select(Site.group_name).where(col(Site.group_name).is_not(None)).distinct()
    groups = sorted(g for g in session.exec(_site_filter(group_q, col(Site.id), scope, None)).all() if g)

    # The page: sites with their stored current row, worst first.
    page_q = select(Site, SiteCurrent).outerjoin(SiteCurrent, col(SiteCurrent.site_id) == col(Site.id))
    page_q = _site_filter(page_q, col(Site.id), scope, group)
    page = paging.paginate(session, page_q, SORTING, cursor=cursor, limit=limit)
    listed: list[tuple[Site, SiteCurrent | None]] = [tuple(r) for r in page.rows]
    ids = [site.id or 0 for site, _ in listed]

    figures: dict[int, snapshots.SiteFigures] = {}
    for site, current in listed:
        if current is not None:
            figures[site.id or 0] = snapshots.SiteFigures(
                devices=current.devices,
                passed=current.passed,
                failed=current.failed,
                open_critical=current.open_critical,
                open_high=current.open_high,
                open_total=current.open_total,
            )
    missing = [sid for sid in ids if sid not in figures]
    if missing:
        figures.update(snapshots.figures(session, site_ids=missing, now=now))

    stale_q = select(Agent.site_id, func.count()).where(
        col(Agent.revoked_at).is_(None),
        or_(col(Agent.last_seen_at).is_(None), col(Agent.last_seen_at) < cutoff),
    )
    certs_q = select(DeviceCertificate.site_id, func.count()).where(
        col(DeviceCertificate.not_after) <= now + timedelta(days=CERT_DAYS)
    )
    scored = select(DeviceScoreCurrent.site_id, func.count())
    now_q = scored.where(DeviceScoreCurrent.category == ScoreCategory.REPLACE_NOW)
    plan_q = scored.where(DeviceScoreCurrent.category == ScoreCategory.PLAN_12_MONTHS)
    counted = (
        (stale_q, col(Agent.site_id)),
        (certs_q, col(DeviceCertificate.site_id)),
        (now_q, col(DeviceScoreCurrent.site_id)),
        (plan_q, col(DeviceScoreCurrent.site_id)),
    )
    stale, certs, replace_now, replace_12 = _by_site(session, counted, ids)
    last: dict[int, datetime] = {}
    if ids:
        # PostgreSQL probes ix_device_site_last_report once per site of the page.
        q = select(Device.site_id, func.max(Device.last_report_at)).where(col(Device.site_id).in_(ids))
        last = {k: v for k, v in session.exec(q.group_by(col(Device.site_id))).all() if v is not None}
    history = _history(session, ids, since=days[0]) if ids else {}

    rows: list[SiteRow] = []
    for site, _current in listed:
        sid = site.id or 0
        f = figures.get(sid, snapshots.SiteFigures())
        points = _series(history.get(sid, []), days)
        points[-1] = (f.passed, f.failed)
        rows.append(
            SiteRow(
                site=site,
                devices=f.devices,
                trend=_trend(points, (f.passed, f.failed), days),
                open_critical=f.open_critical,
                open_high=f.open_high,
                stale_agents=stale.get(sid, 0),
                certs_expiring=certs.get(sid, 0),
                replace_now=replace_now.get(sid, 0),
                replace_12_months=replace_12.get(sid, 0),
                last_report_at=last.get(sid),
            )
        )

    city.stale_agents, city.certs_expiring, city.replace_now, city.replace_12_months = _counts(
        session, counted, scope, group
    )
    return CityOverview(
        rows=rows,
        city=city,
        days=days,
        groups=groups,
        group=group,
        next_cursor=page.next_cursor,
        prev_cursor=page.prev_cursor,
        sites=sites,
    )


def _by_site(session: Session, counted: Any, ids: list[int]) -> list[dict[int, int]]:
    """Per-site count queries ((query, site column) pairs) for the page's sites, in one statement (a
    UNION ALL tagged by query): each round trip waits for a CPU on a busy server."""
    out: list[dict[int, int]] = [{} for _ in counted]
    if not ids:
        return out
    parts = [
        query.add_columns(literal(i).label("part")).where(column.in_(ids)).group_by(column)
        for i, (query, column) in enumerate(counted)
    ]
    for site_id, n, part in session.exec(union_all(*parts)).all():
        out[int(part)][int(site_id)] = int(n)
    return out


def _counts(session: Session, counted: Any, scope: Collection[int] | None, group: str | None) -> list[int]:
    """The city's totals of per-site count queries (each select list replaced by one count), in one
    statement."""
    totals = [
        _site_filter(
            query.with_only_columns(func.count(), maintain_column_froms=True), column, scope, group
        ).scalar_subquery()
        for query, column in counted
    ]
    return [int(n or 0) for n in session.exec(select(*totals)).one()]


def _city(
    session: Session, *, scope: Collection[int] | None, group: str | None, now: datetime, days: list[date]
) -> tuple[SiteRow, int]:
    """The city's stored totals and its 90-day series, and how many sites it adds up."""
    city = SiteRow(site=Site(code="", name=""))
    sums = select(
        func.count(),
        func.coalesce(func.sum(SiteCurrent.devices), 0),
        func.coalesce(func.sum(SiteCurrent.passed), 0),
        func.coalesce(func.sum(SiteCurrent.failed), 0),
        func.coalesce(func.sum(SiteCurrent.open_critical), 0),
        func.coalesce(func.sum(SiteCurrent.open_high), 0),
    )
    n, devices, passed, failed, critical, high = session.exec(
        _site_filter(sums, col(SiteCurrent.site_id), scope, group)
    ).one()
    # Sites with no snapshot yet (a new site nobody reported from): counted live, they are few.
    none_q = select(Site.id).outerjoin(SiteCurrent, col(SiteCurrent.site_id) == col(Site.id))
    none_q = _site_filter(none_q.where(col(SiteCurrent.site_id).is_(None)), col(Site.id), scope, group)
    missing = [i for i in session.exec(none_q).all() if i is not None]
    if missing:
        for f in snapshots.figures(session, site_ids=missing, now=now).values():
            devices, passed, failed = devices + f.devices, passed + f.passed, failed + f.failed
            critical, high = critical + f.open_critical, high + f.open_high
    city.devices, city.open_critical, city.open_high = int(devices), int(critical), int(high)

    if scope is None and not group:
        points = _city_days(session, days[:-1]) + [None]
    else:
        points = _carried(session, days, scope=scope, group=group)
    city.trend = _trend(points, (int(passed), int(failed)), days)
    return city, int(n) + len(missing)


def _carried(
    session: Session, days: list[date], *, scope: Collection[int] | None, group: str | None
) -> list[tuple[int, int] | None]:
    """(passed, failed) of these sites on each day, each site's last snapshot carried forward.

    One grouped query: each snapshot adds its change from the site's previous one (its whole figures
    for the first), and the running sum over the days is every site's figures in force that day.
    """
    since = days[0] - timedelta(days=31)  # the baseline of a quiet site, as snapshots.history keeps
    window = {"partition_by": col(SiteDaily.site_id), "order_by": col(SiteDaily.day)}
    prev_p = func.lag(SiteDaily.passed).over(**window)
    prev_f = func.lag(SiteDaily.failed).over(**window)
    inner = _site_filter(
        select(
            col(SiteDaily.day).label("day"),
            (col(SiteDaily.passed) - func.coalesce(prev_p, 0)).label("dp"),
            (col(SiteDaily.failed) - func.coalesce(prev_f, 0)).label("df"),
            func.coalesce(prev_p * 0, 1).label("ds"),  # 1 on a site's first snapshot
        ).where(col(SiteDaily.day) >= since, col(SiteDaily.day) <= days[-1]),
        col(SiteDaily.site_id),
        scope,
        group,
    ).subquery()
    deltas = session.exec(
        select(inner.c.day, func.sum(inner.c.dp), func.sum(inner.c.df), func.sum(inner.c.ds))
        .group_by(inner.c.day)
        .order_by(inner.c.day)
    ).all()
    points: list[tuple[int, int] | None] = []
    i, run_p, run_f, run_s = 0, 0, 0, 0
    for day in days:
        while i < len(deltas) and deltas[i][0] <= day:
            _day, dp, df, ds = deltas[i]
            run_p, run_f, run_s = run_p + int(dp), run_f + int(df), run_s + int(ds)
            i += 1
        points.append((run_p, run_f) if run_s else None)
    return points


def _city_days(session: Session, days: list[date]) -> list[tuple[int, int] | None]:
    """The whole city on these finished days: the stored rows, the missing ones counted (not stored).

    A GET never writes: the scheduled job ``overview.daily`` (``fill_city_daily``) stores the days
    this counts, so only the first overviews of a new day count them live."""
    stored = {
        r.day: r
        for r in session.exec(
            select(CityDaily).where(col(CityDaily.day) >= days[0], col(CityDaily.day) <= days[-1])
        ).all()
    }
    if len(stored) < len(days):
        return _carried(session, days, scope=None, group=None)
    return [(stored[d].passed, stored[d].failed) if stored[d].sites else None for d in days]


def fill_city_daily(session: Session, *, now: datetime | None = None) -> int:
    """Store the city's finished days of the overview's window that have no ``city_daily`` row yet;
    returns how many were written. The caller commits."""
    today = local_date(now or now_utc())
    days = [today - timedelta(days=n) for n in range(SERIES_DAYS - 1, 0, -1)]
    stored = set(
        session.exec(
            select(CityDaily.day).where(col(CityDaily.day) >= days[0], col(CityDaily.day) <= days[-1])
        ).all()
    )
    if len(stored) == len(days):
        return 0
    counted = _carried(session, days, scope=None, group=None)
    fresh = [
        {"day": d, "passed": p[0] if p else 0, "failed": p[1] if p else 0, "sites": 1 if p else 0}
        for d, p in zip(days, counted, strict=True)
        if d not in stored
    ]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # Two collectors may fill the same day: the first row stays.
    session.exec(insert(CityDaily).on_conflict_do_nothing(), params=fresh)
    return len(fresh)


def daily_job(engine: Engine, *, now: datetime | None = None) -> None:
    """The scheduled job ``overview.daily``: every site's snapshot of today, then the city's past days."""
    with Session(engine) as session:
        snapshots.record_all(session, now=now)
        session.commit()
        fill_city_daily(session, now=now)
        session.commit()


def register_jobs(scheduler: Scheduler, settings: CollectorSettings) -> None:
    """``overview.daily`` every ``overview_interval_minutes`` (0: never in this process)."""
    if settings.overview_interval_minutes <= 0:
        return
    scheduler.register(
        "overview.daily", timedelta(minutes=settings.overview_interval_minutes), lambda e: daily_job(e)
    )


def stale_agent_list(
    session: Session,
    *,
    scope: Collection[int] | None,
    group: str | None,
    stale_minutes: int,
    limit: int = 50,
    now: datetime | None = None,
) -> list[tuple[Agent, str]]:
    """The first ``limit`` silent agents (and their site's code), by site code and hostname."""
    cutoff = (now or now_utc()) - timedelta(minutes=stale_minutes)
    q = (
        select(Agent, Site.code)
        .join(Site, col(Site.id) == col(Agent.site_id))
        .where(
            col(Agent.revoked_at).is_(None),
            or_(col(Agent.last_seen_at).is_(None), col(Agent.last_seen_at) < cutoff),
        )
        .order_by(col(Site.code), col(Agent.hostname), col(Agent.id))
        .limit(limit)
    )
    return [(a, code) for a, code in session.exec(_site_filter(q, col(Agent.site_id), scope, group)).all()]
