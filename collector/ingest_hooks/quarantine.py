"""A heartbeat's ``quarantine`` field: the reports its agent set aside, shown on the device."""

from __future__ import annotations

from typing import TYPE_CHECKING

from collector.plugins import HookSpec
from collector.services.quarantine import record_quarantine

if TYPE_CHECKING:
    from collector.services.ingest_context import IngestContext


def apply(ctx: IngestContext) -> None:
    note = ctx.report.quarantine
    if note is None or ctx.report.subject.kind != "host" or ctx.device.id is None:
        return
    record_quarantine(ctx.session, device_id=ctx.device.id, note=note, reported_at=ctx.report.collected_at)


PLUGIN = HookSpec("quarantine", apply, order=90)
