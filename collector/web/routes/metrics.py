"""Prometheus metrics: ingest counters of this process and fleet gauges from the database."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from sqlalchemy import func
from sqlmodel import col, select

from collector.http.deps import CityAdmin, DbSession, Settings
from collector.models.core import Agent, Device, RawReport, Site
from collector.models.types import utcnow
from collector.plugins import PageSpec

router = APIRouter()

HELP = {
    "wardwatch_reports_total": "Reports received by this process, by outcome.",
}


@router.get("/metrics", response_class=PlainTextResponse, include_in_schema=True, tags=["health"])
def metrics(request: Request, user: CityAdmin, session: DbSession, settings: Settings) -> str:
    """Fleet-wide figures: for administrators not limited to sites."""
    lines: list[str] = []
    counts = request.app.state.metrics.snapshot()
    lines += [
        f"# HELP wardwatch_reports_total {HELP['wardwatch_reports_total']}",
        "# TYPE wardwatch_reports_total counter",
    ]
    for outcome in ("accepted", "duplicate", "needs_full", "rejected"):
        lines.append(f'wardwatch_reports_total{{outcome="{outcome}"}} {counts.get(("reports", outcome), 0)}')
    stale_before = utcnow() - timedelta(minutes=settings.stale_agent_minutes)
    gauges = {
        "wardwatch_sites": session.exec(select(func.count()).select_from(Site)).one(),
        "wardwatch_devices": session.exec(select(func.count()).select_from(Device)).one(),
        "wardwatch_agents": session.exec(
            select(func.count()).select_from(Agent).where(col(Agent.revoked_at).is_(None))
        ).one(),
        "wardwatch_agents_stale": session.exec(
            select(func.count())
            .select_from(Agent)
            .where(col(Agent.revoked_at).is_(None), col(Agent.last_seen_at) < stale_before)
        ).one(),
        "wardwatch_raw_reports": session.exec(select(func.count()).select_from(RawReport)).one(),
    }
    for name, value in gauges.items():
        lines += [f"# TYPE {name} gauge", f"{name} {value}"]
    return "\n".join(lines) + "\n"


PLUGIN = PageSpec(router)
