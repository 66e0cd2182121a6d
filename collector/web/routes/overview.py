"""The overview: the city's communes worst first, each with its compliance and trend, open critical and
high findings, silent agents, certificates expiring within 30 days and devices to replace. Every
number links to the list behind it."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from collector.http.deps import AnyUser, DbSession, Settings
from collector.plugins import Link, PageSpec
from collector.reports.sparkline import sparkline, trend_chart
from collector.services.console import AgentRow
from collector.services.errors import ServiceError
from collector.services.overview import SiteRow, city_overview, stale_agent_list
from collector.web.i18n import format_day_month, format_number
from collector.web.setup import extra_context, render, request_language, translator_for

router = APIRouter(include_in_schema=False)

PLANNING_READERS = ("admin", "planner", "technician")
AGENT_READERS = ("admin", "technician")


def _links(row: SiteRow, role: str) -> dict[str, str | None]:
    """Where each number of a row leads (the city row when ``row.site.code`` is empty)."""

    def q(path: str, **params: Any) -> str:
        if row.site.code:
            params = {"site": row.site.code, **params}
        params = {k: v for k, v in params.items() if v is not None}
        return path + ("?" + urlencode(params) if params else "")

    return {
        "site": f"/sites/{row.site.code}" if row.site.code else None,
        "devices": q("/devices"),
        "compliance": q("/findings", status="open"),
        "trend": q("/findings", status="", sort="-first_seen"),
        "critical": q("/findings", severity="critical", status="open"),
        "high": q("/findings", severity="high", status="open"),
        "stale": q("/agents", stale="yes") if role in AGENT_READERS else q("/devices", silent="yes"),
        "certs": q("/certificates", days=30),
        "replace": q("/planning/register", category="replace_now") if role in PLANNING_READERS else None,
    }


@router.get("/")
def overview(
    request: Request,
    user: AnyUser,
    session: DbSession,
    settings: Settings,
    group: str | None = None,
    cursor: str | None = None,
) -> Response:
    lang = request_language(request)
    _ = translator_for(request)
    minutes = settings.stale_agent_minutes
    group = (group or "").strip() or None
    try:
        view = city_overview(
            session, scope=user.site_ids, stale_minutes=minutes, group=group, cursor=cursor or None
        )
    except ServiceError:
        # A cursor from an older page or another group: start again from the worst commune.
        view = city_overview(session, scope=user.site_ids, stale_minutes=minutes, group=group)
    role = str(user.role)

    def pct(value: float | None) -> str:
        return "—" if value is None else format_number(value, lang) + " %"

    sparks = {}
    for row in view.rows:
        title = _(
            "Compliance of %(site)s over 90 days: %(now)s today", site=row.site.name, now=pct(row.percent)
        )
        sparks[row.site.code] = sparkline(row.trend.series, title=title)
    labels = [format_day_month(d, lang) for d in view.days]
    marks = [0, len(view.days) - 31, len(view.days) - 1]
    city_title = _(
        "City compliance over 90 days: %(now)s today, %(d30)s over 30 days, %(d90)s over 90 days",
        now=pct(view.city.percent),
        d30=_signed(view.city.trend.change.get(30), lang),
        d90=_signed(view.city.trend.change.get(90), lang),
    )
    chart = trend_chart(
        view.city.trend.series,
        title=city_title,
        labels=labels,
        marks=marks,
        value_label=pct(view.city.percent),
    )
    # Only the first 50 are listed; the city's card has the count.
    stale_agents = [
        AgentRow(agent=a, site_code=code, device_count=0, stale=True)
        for a, code in stale_agent_list(session, scope=user.site_ids, group=view.group, stale_minutes=minutes)
    ]

    def page_href(cursor: str | None) -> str | None:
        if cursor is None:
            return None
        return "/?" + urlencode({k: v for k, v in (("group", view.group), ("cursor", cursor)) if v})

    pages = {
        "prev_href": page_href(view.prev_cursor),
        "next_href": page_href(view.next_cursor),
        "first_href": ("/?" + urlencode({"group": view.group}) if view.group else "/") if cursor else None,
    }
    return render(
        request,
        "overview.html",
        {
            "view": view,
            "rows": view.rows,
            "city": view.city,
            "links": {r.site.code: _links(r, role) for r in view.rows},
            "city_links": _links(view.city, role),
            "sparks": sparks,
            "chart": chart,
            "stale_agents": stale_agents,
            "stale_total": view.city.stale_agents,
            "pages": pages,
            "stale_minutes": minutes,
            "show_replace": role in PLANNING_READERS,
            "pct": pct,
            "signed": lambda v: _signed(v, lang),
            # Other rooms' figures (PageSpec overview_context), shown by templates/overview_extras/*.html.
            **extra_context("overview_context", session, user),
        },
    )


def _signed(value: float | None, lang: str) -> str:
    if value is None:
        return "—"
    text = format_number(abs(value), lang)
    return ("+" if value > 0 else "−" if value < 0 else "±") + text


PLUGIN = PageSpec(
    router,
    nav=(Link(10, "Overview", "/"),),
)
