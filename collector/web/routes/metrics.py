"""Prometheus metrics: ingest counters of this process and fleet gauges from the database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from sqlalchemy import func
from sqlmodel import col, select

from collector.http.deps import CityAdmin, DbSession, Settings
from collector.metrics import REFUSAL_REASONS
from collector.models.core import Agent, Device, RawReport, Site
from collector.models.types import utcnow
from collector.plugins import PageSpec
from collector.services.jobs import queue_stats

router = APIRouter()

HELP = {
    "wardwatch_reports_total": "Reports received by this process, by outcome.",
    "wardwatch_reports_refused_total": "Reports this process refused, by reason.",
    "wardwatch_ingest_seconds": "Time to receive, parse and store one report in this process.",
}


def _pool_figure(pool: Any, name: str) -> int:
    method = getattr(pool, name, None)
    return int(method()) if callable(method) else 0


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
    lines += [
        f"# HELP wardwatch_reports_refused_total {HELP['wardwatch_reports_refused_total']}",
        "# TYPE wardwatch_reports_refused_total counter",
    ]
    for reason in sorted({*REFUSAL_REASONS.values(), "needs_full", "report_id_taken", "other"}):
        lines.append(
            f'wardwatch_reports_refused_total{{reason="{reason}"}} {counts.get(("refused", reason), 0)}'
        )
    lines += [
        f"# HELP wardwatch_ingest_seconds {HELP['wardwatch_ingest_seconds']}",
        "# TYPE wardwatch_ingest_seconds histogram",
        *request.app.state.metrics.histogram_lines("ingest_seconds", "wardwatch_ingest_seconds"),
    ]
    stats = queue_stats(session)
    pool = request.app.state.engine.pool
    described = {
        "wardwatch_jobs_queued": (stats.depth, "Background jobs not done yet (running ones included)."),
        "wardwatch_jobs_oldest_age_seconds": (
            round(stats.oldest_age_s, 3),
            "Age of the oldest background job not done yet; 0 when none.",
        ),
        "wardwatch_jobs_failed": (stats.failed, "Background jobs given up after their last attempt."),
        # QueuePool (PostgreSQL, SQLite files); other pools have no fixed size to report.
        "wardwatch_db_pool_checked_out": (
            _pool_figure(pool, "checkedout"),
            "Database connections of this process in use.",
        ),
        "wardwatch_db_pool_size": (_pool_figure(pool, "size"), "Database connections this process keeps."),
        "wardwatch_db_pool_overflow": (
            _pool_figure(pool, "overflow"),
            "Connections opened beyond the pool's size (negative: room left before overflowing).",
        ),
    }
    for name, (value, text) in described.items():
        lines += [f"# HELP {name} {text}", f"# TYPE {name} gauge", f"{name} {value}"]
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
