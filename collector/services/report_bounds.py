"""Per-report bounds: how much one report may hold, so that one report's ingest is bounded work.

The wire contract (``inventory.report``) refuses what cannot be stored or shown; these bounds refuse
what is too much to ingest in one go. Defaults live in ``CollectorSettings`` (``report_max_*``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from collector.settings import CollectorSettings
from inventory.report import Loc, Report, WireError, WireProblem, parse_report_skipping

# Free text bounded by ``report_max_config_bytes`` rather than by the string limit.
LONG_TEXT: tuple[Loc, ...] = (("facts", "device", "config"), ("facts", "device", "raw_outputs", -1))


def parse_bounded_report(body: bytes, *, settings: CollectorSettings) -> Report:
    """The report in ``body``, or ``WireError`` naming every contract rule or bound it breaks."""
    return parse_bounded_report_skipping(body, settings=settings)[0]


def parse_bounded_report_skipping(
    body: bytes, *, settings: CollectorSettings, known: Callable[[str, str], bool] | None = None
) -> tuple[Report, dict[str, str]]:
    """``parse_bounded_report`` leaving out the sections ``known`` says are stored with that hash
    (``inventory.report.parse_report_skipping``): they were held to the bounds when first stored."""
    report, skipped = parse_report_skipping(
        body, known=known, max_string=settings.report_max_string_chars, long_strings=LONG_TEXT
    )
    problems = bound_problems(report, settings=settings)
    if problems:
        raise WireError(problems)
    return report, skipped


def bound_problems(report: Report, *, settings: CollectorSettings) -> list[WireProblem]:
    facts, s = report.facts, settings
    counts: list[tuple[Loc, list[Any] | None, int]] = [
        (("results",), report.results, s.report_max_results),
        (("facts", "software"), facts.software, s.report_max_software),
        (("facts", "network_interfaces"), facts.network_interfaces, s.report_max_interfaces),
    ]
    if facts.device is not None:
        counts.append((("facts", "device", "interfaces"), facts.device.interfaces, s.report_max_interfaces))
    if facts.certificates is not None:
        for name in ("certificates", "tls_endpoints", "documents"):
            items = getattr(facts.certificates, name)
            counts.append((("facts", "certificates", name), items, s.report_max_certificates))
    if facts.network_scan is not None:
        counts.append((("facts", "network_scan", "hosts"), facts.network_scan.hosts, s.report_max_lan_hosts))
    problems = [
        WireProblem(loc, f"{len(items)} entries; at most {limit} in one report", "too_many")
        for loc, items, limit in counts
        if items is not None and len(items) > limit
    ]
    if facts.device is not None:
        sizes = {
            "config": len((facts.device.config or "").encode("utf-8")),
            "raw_outputs": sum(len(v.encode("utf-8")) for v in facts.device.raw_outputs.values()),
        }
        for name, size in sizes.items():
            if size > s.report_max_config_bytes:
                msg = f"{size} bytes; at most {s.report_max_config_bytes}"
                problems.append(WireProblem(("facts", "device", name), msg, "too_large"))
    return problems
