"""Findings follow each report's results: a failure opens (or reopens) one, a pass resolves it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from collector.plugins import HookSpec
from inventory.report import ReportKind

if TYPE_CHECKING:
    from collector.services.ingest_context import IngestContext


def apply(ctx: IngestContext) -> None:
    from collector.services.findings import apply_results

    report = ctx.report
    if report.kind == ReportKind.HEARTBEAT:
        return
    # Which agent modules this report speaks for: a full report without a module list speaks for all
    # of them; a delta only for the modules it names (its other results are unchanged, not absent).
    gone: set[tuple[str, str]] = set()
    if report.changed_results_only():
        # Only the results that changed travel: the others stand, and only those it names as gone
        # close their findings.
        covered: set[str] | None = set()
        gone = {(g.check_id, g.target) for g in report.results_gone}
    elif report.modules:
        covered = set(report.modules)
    elif report.kind == ReportKind.FULL:
        covered = None
    else:
        covered = set()
    if not covered and covered is not None and not ctx.results and not ctx.results_changed and not gone:
        # A delta without results speaks for no module and changed no stored result: no finding can
        # open, close or change, so the device's findings are not even read.
        return
    apply_results(
        ctx.session,
        device=ctx.device,
        results=ctx.results,
        due_days=ctx.settings.due_days,
        report_id=str(report.report_id),
        covered_modules=covered,
        gone=gone,
        unchanged=ctx.unchanged_results,
    )


# Before scoring and the other hooks that read findings.
PLUGIN = HookSpec("findings", apply, order=20)
