"""Queue the device's replacement score when a report changed what the score reads.

Scoring is slow derived work: it runs in the job queue (``collector.services.derived_jobs``), not on
the report's request path; a device reporting many times before the worker gets to it is scored once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from collector.plugins import HookSpec
from collector.services.scoring import SECTIONS
from inventory.report import ReportKind

if TYPE_CHECKING:
    from collector.services.ingest_context import IngestContext


def apply(ctx: IngestContext) -> None:
    if ctx.report.kind == ReportKind.HEARTBEAT or ctx.device.id is None:
        return
    changed = any(name in ctx.changed_sections for name in SECTIONS)
    if not changed and not ctx.results_changed:
        return
    from collector.services.derived_jobs import queue_score

    queue_score(ctx.session, device_id=ctx.device.id)


# After the findings and the other hooks: the score reads the results they leave in place.
PLUGIN = HookSpec("scoring", apply, order=90)
