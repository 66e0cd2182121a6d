"""Recompute a device's replacement score when a report changes what the score reads."""

from __future__ import annotations

from typing import TYPE_CHECKING

from collector.models.assets import DeviceScore
from collector.plugins import HookSpec
from collector.services.scoring import SECTIONS, load_config, recompute_scores
from inventory.report import ReportKind

if TYPE_CHECKING:
    from collector.services.ingest_context import IngestContext


def apply(ctx: IngestContext) -> None:
    if ctx.report.kind == ReportKind.HEARTBEAT or ctx.device.id is None:
        return
    changed = any(name in ctx.changed_sections for name in SECTIONS)
    has_score = ctx.session.get(DeviceScore, ctx.device.id) is not None
    if not changed and has_score and not ctx.results:
        return
    # The score row is rewritten only when its inputs' digest differs, so a report whose results
    # repeat the stored ones costs a read, not a write.
    recompute_scores(
        ctx.session,
        device_ids=[ctx.device.id],
        config=load_config(ctx.settings),
        sections_override={ctx.device.id: ctx.changed_sections},
    )


# After the findings and the other hooks: the score reads the results they leave in place.
PLUGIN = HookSpec("scoring", apply, order=90)
