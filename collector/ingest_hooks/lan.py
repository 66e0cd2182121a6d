"""A report carrying a new LAN scan (``network_scan`` changed): store the scan and its hosts, and
re-judge unknown devices against the site's own registry before the findings hook reads the results.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from collector.plugins import HookSpec

if TYPE_CHECKING:
    from collector.services.ingest_context import IngestContext

# Before findings (20): the unknown-device results it reads are the collector's.
UNKNOWN_CHECK = "lan.unknown_device"


def apply(ctx: IngestContext) -> None:
    data = ctx.changed_sections.get("network_scan")
    if not data:
        return
    from sqlmodel import delete

    from checks.catalog import load_catalog
    from checks.runner import run_check
    from collector.models.core import DeviceResult
    from collector.models.types import utcnow
    from collector.services.lan import record_scan
    from inventory.facts import Facts
    from inventory.lan import LanScanFacts

    facts = LanScanFacts.model_validate(data)
    now = utcnow()
    report_id = str(ctx.report.report_id)
    _scan, judged = record_scan(
        ctx.session,
        site_id=ctx.device.site_id,
        device_id=ctx.device.id,
        report_id=report_id,
        facts=facts,
        now=now,
    )
    check = load_catalog().get(UNKNOWN_CHECK)
    if check is None:
        return
    results = run_check(check, Facts(network_scan=judged))
    # The collector's verdicts replace whatever the agent could say about unknown devices.
    ctx.results[:] = [r for r in ctx.results if r.check_id != UNKNOWN_CHECK] + results
    ctx.unchanged_results = {k for k in ctx.unchanged_results if k[0] != UNKNOWN_CHECK}
    ctx.session.exec(
        delete(DeviceResult).where(
            DeviceResult.device_id == ctx.device.id,
            DeviceResult.check_id == UNKNOWN_CHECK,
        )
    )
    for r in results:
        ctx.session.add(
            DeviceResult(
                device_id=ctx.device.id or 0,
                check_id=r.check_id,
                target=r.target,
                status=r.status.value,
                evidence=r.evidence,
                observed=r.observed,
                updated_at=now,
                report_id=report_id,
            )
        )


PLUGIN = HookSpec("lan", apply, order=15)
