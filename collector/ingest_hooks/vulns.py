"""Known vulnerabilities: queue a re-evaluation of a device when its software, OS or device section
changed. Matching runs in the job queue (``collector.services.derived_jobs``), off the request path."""

from __future__ import annotations

from typing import TYPE_CHECKING

from collector.plugins import HookSpec

if TYPE_CHECKING:
    from collector.services.ingest_context import IngestContext

# After the findings hook (20): its report-driven closing must not see the vulnerability findings
# this hook writes in the same transaction.
SECTIONS = ("software", "os", "device")


def apply(ctx: IngestContext) -> None:
    if ctx.device.id is None or not any(s in ctx.changed_sections for s in SECTIONS):
        return
    from collector.services.derived_jobs import queue_vulns

    queue_vulns(
        ctx.session, device_id=ctx.device.id, report_id=str(ctx.report.report_id), at=ctx.report.collected_at
    )


PLUGIN = HookSpec("vulns", apply, order=30)
