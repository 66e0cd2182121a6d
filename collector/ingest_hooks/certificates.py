"""Keep the certificate inventory in step with the device's ``certificates`` section.

An unchanged section costs nothing (it is absent from ``changed_sections``). Findings for every
certificate problem come from the check results (one per certificate, service or signature) through
the findings hook, like every other check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from collector.plugins import HookSpec
from collector.services.certificates import sync_device
from inventory.report import ReportKind

if TYPE_CHECKING:
    from collector.services.ingest_context import IngestContext


def apply(ctx: IngestContext) -> None:
    if ctx.report.kind == ReportKind.HEARTBEAT or ctx.device.id is None:
        return
    if "certificates" not in ctx.changed_sections:
        return
    sync_device(
        ctx.session, device=ctx.device, data=ctx.changed_sections["certificates"], now=ctx.report.collected_at
    )


PLUGIN = HookSpec("certificates", apply, order=40)
