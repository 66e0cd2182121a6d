"""Keep the search tables (programs, addresses) in step with the device's changed sections."""

from __future__ import annotations

from typing import TYPE_CHECKING

from collector.plugins import HookSpec
from inventory.report import ReportKind

if TYPE_CHECKING:
    from collector.services.ingest_context import IngestContext


def apply(ctx: IngestContext) -> None:
    if ctx.report.kind == ReportKind.HEARTBEAT or ctx.device.id is None:
        return
    from collector.services.search_index import sync_addresses, sync_software

    # An unchanged section is absent from changed_sections and costs nothing here.
    if "software" in ctx.changed_sections:
        sync_software(ctx.session, device=ctx.device, data=ctx.changed_sections["software"])
    if "network_interfaces" in ctx.changed_sections:
        sync_addresses(ctx.session, device=ctx.device, data=ctx.changed_sections["network_interfaces"])


PLUGIN = HookSpec("search_index", apply, order=50)
