"""Change history: compare each section the report changed with its value before, store the changes,
and let the change checks open findings for suspicious ones (see ``collector.services.history``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from collector.plugins import HookSpec
from inventory.report import ReportKind

if TYPE_CHECKING:
    from collector.services.ingest_context import IngestContext


def apply(ctx: IngestContext) -> None:
    if ctx.report.kind == ReportKind.HEARTBEAT or ctx.device.id is None or not ctx.changed_sections:
        return
    from collector.models.types import utcnow
    from collector.services.history import first_report_failing_disks, record_changes

    events = record_changes(
        ctx.session,
        device=ctx.device,
        report_id=str(ctx.report.report_id),
        # When the collector learned of it: an agent clock may be wrong, and the weekly list must not lie.
        at=utcnow(),
        previous=ctx.previous_sections,
        changed=ctx.changed_sections,
        due_days=ctx.settings.due_days,
    )
    if "disks" in ctx.changed_sections and "disks" not in ctx.previous_sections:
        first_report_failing_disks(ctx.session, device=ctx.device, disks=ctx.changed_sections["disks"])
    config = [e for e in events if e.kind == "config"]
    if config:
        from collector.services.netdevices import latest_config

        version = latest_config(ctx.session, ctx.device.id)
        if version is not None:
            for e in config:
                e.detail = {**(e.detail or {}), "version": version.id, "previous": version.previous_id}


# After the findings hook (20), whose "gone" sweep must not see this report's change findings as
# new, and after network devices (12), whose configuration version the config change links to.
PLUGIN = HookSpec("history", apply, order=30)
