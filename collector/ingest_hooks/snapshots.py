"""After each report, today's snapshot of the device's site holds the site's latest figures.

The figures are counted over the whole site, so the snapshot is written by the job queue
(``collector.services.derived_jobs``), once per site however many of its PCs reported meanwhile:
the job waits ``job_snapshot_delay_seconds`` after the first of them (``wardwatch jobs run-pending``
and the tests' drain do not wait).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from collector.plugins import HookSpec
from inventory.report import ReportKind

if TYPE_CHECKING:
    from collector.services.ingest_context import IngestContext


def apply(ctx: IngestContext) -> None:
    if ctx.report.kind == ReportKind.HEARTBEAT:
        return
    from collector.services.derived_jobs import queue_site_snapshot

    queue_site_snapshot(
        ctx.session, site_id=ctx.device.site_id, delay_s=ctx.settings.job_snapshot_delay_seconds
    )


# Last: it reads the results and findings every other hook has settled.
PLUGIN = HookSpec("snapshots", apply, order=95)
