"""One collection cycle: facts -> checks -> a report (full, delta or heartbeat) -> the spool.

Runs in the worker child (``agent.worker``). Every fact source is isolated: one that raises is
logged and left out, never the end of the cycle. Capabilities (``agent.capabilities``) add their
section to the host report or spool reports of their own; their heavy code loads only when they run.
"""

from __future__ import annotations

import logging
import os
import platform
import socket
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, TypeVar

from agent import __version__
from agent.capabilities import CAPABILITIES
from agent.config import AgentSettings
from agent.protocol import HOST_SUBJECT
from agent.spool import Spool
from agent.state import RESULTS_ENTRY, Baseline, results_entry
from inventory.facts import Facts
from inventory.report import (
    CheckResult,
    CheckStatus,
    HostIdentity,
    Report,
    ReportKind,
    ResultKey,
    Subject,
    result_digest,
    result_tuple,
    results_set_hash,
    utcnow,
)

log = logging.getLogger(__name__)

FAILING = (CheckStatus.FAIL, CheckStatus.ERROR)
T = TypeVar("T")


def _guard(what: str, problems: list[str], fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        log.warning("%s failed: %s", what, exc, exc_info=log.isEnabledFor(logging.DEBUG))
        problems.append(f"{what}: {type(exc).__name__}: {exc}"[:300])
        return None


# -- facts ---------------------------------------------------------------------------------------


def fallback_hostname() -> str:
    return socket.gethostname() or platform.node() or "unknown"


def _fallback_facts() -> Facts:
    """Until (or where) ``inventory.host`` is not available: what psutil and the stdlib tell."""
    import psutil

    from inventory.facts import CpuFacts, MemoryFacts, OsFacts, SystemFacts

    vm = psutil.virtual_memory()
    family = "windows" if os.name == "nt" else platform.system().lower()
    return Facts(
        system=SystemFacts(hostname=fallback_hostname()),
        os=OsFacts(
            family=family, name=platform.system(), version=platform.version(), kernel=platform.release()
        ),
        cpu=CpuFacts(
            model=platform.processor() or None,
            physical_cores=psutil.cpu_count(logical=False),
            threads=psutil.cpu_count(),
        ),
        memory=MemoryFacts(total_bytes=vm.total, available_bytes=vm.available),
    )


def fallback_identity(facts: Facts) -> HostIdentity:
    mac = None
    for nic in facts.network_interfaces or []:
        if (
            nic.mac
            and nic.physical is not False
            and nic.kind != "loopback"
            and nic.mac != "00:00:00:00:00:00"
        ):
            mac = nic.mac
            break
    system = facts.system
    return HostIdentity(
        machine_id=system.machine_id if system else None, serial=system.serial if system else None, mac=mac
    )


@dataclass
class Collected:
    facts: Facts
    results: list[CheckResult]
    modules: list[str]  # the agent modules whose check results ``results`` holds
    hostname: str
    identity: HostIdentity
    problems: list[str] = field(default_factory=list)


def collect_host(
    settings: AgentSettings, *, with_checks: bool = True, run: Collection[str] | None = None
) -> Collected:
    """Host facts, the capabilities' sections, and the check results.

    ``run`` names the capabilities whose schedule is due (None: all of them). A capability not due
    adds only what it already knows (the last LAN scan) or nothing (certificates: the collector
    keeps the section it has). ``modules`` says whose results the report holds: with checks, the
    host's and every section's; without (a capability's own schedule), those of the capabilities
    that ran, so certificates on their schedule send their results too.
    """
    from checks.runner import run_checks
    from inventory.host import collect_host_facts, host_identity, hostname
    from inventory.host.security import collect_security_facts

    problems: list[str] = []
    facts = _guard("host facts", problems, collect_host_facts)
    if facts is None:
        facts = _guard("host facts (fallback)", problems, _fallback_facts) or Facts()
    facts.security = _guard(
        "security facts", problems, collect_security_facts, cache_dir=settings.state_dir / "cache"
    )
    present: list[str] = []  # capabilities whose section the report carries
    ran: list[str] = []  # ... of which these were due and ran now
    for cap in CAPABILITIES:
        if cap.host_facts is None:
            continue
        due = run is None or cap.name in run
        if _guard(cap.name, problems, cap.host_facts, settings, facts, due, problems):
            present.append(cap.name)
            if due:
                ran.append(cap.name)
    modules = ["checks", *present] if with_checks else ran

    name = (
        _guard("hostname", problems, hostname)
        or (facts.system.hostname if facts.system else None)
        or fallback_hostname()
    )
    identity = _guard("host identity", problems, host_identity) or fallback_identity(facts)

    results: list[CheckResult] = []
    if modules:
        family = facts.os.family.lower() if facts.os else None
        results = (
            _guard("checks", problems, run_checks, facts, subject="host", platform=family, modules=modules)
            or []
        )
    return Collected(
        facts=facts,
        results=results,
        modules=modules,
        hostname=name,
        identity=identity,
        problems=problems,
    )


# -- reports -------------------------------------------------------------------------------------


@dataclass
class BuiltReport:
    report: Report
    body: bytes  # JSON, as sent
    sections: dict[str, str]  # hash of every section carried in full
    failing: int
    # The complete result set the collector will hold once it stores this report (``results_entry``),
    # kept beside the sections in the spool so that the baseline learns it on acknowledgement.
    results: str | None = None

    @property
    def kind(self) -> str:
        return self.report.kind.value

    @property
    def report_id(self) -> str:
        return str(self.report.report_id)


def _serialize(report: Report) -> bytes:
    return report.model_dump_json(exclude_none=True).encode()


def section_hashes(body: bytes) -> dict[str, str]:
    """Section hashes exactly as the collector will compute them from ``body``."""
    from inventory.report import section_hash

    parsed = Report.model_validate_json(body)
    return {name: section_hash(data) for name, data in parsed.present_sections().items()}


def build_report(
    collected: Collected, *, agent_id: str, baseline: Baseline | None = None, full: bool = True
) -> BuiltReport:
    """A full report, or a delta against ``baseline`` whose unchanged sections travel as their hash."""
    report = Report(
        agent_id=agent_id,
        agent_version=__version__,
        collected_at=utcnow(),
        kind=ReportKind.FULL,
        subject=Subject(kind="host", hostname=collected.hostname, host=collected.identity),
        facts=collected.facts,
        results=collected.results,
        modules=collected.modules,
    )
    body = _serialize(report)
    hashes = section_hashes(body)
    failing = sum(1 for r in collected.results if r.status in FAILING)
    digests = _result_digests(report.results)
    note = results_entry(digests, collected.modules)
    if full or baseline is None or not baseline.report_id:
        return BuiltReport(report, body, hashes, failing, note)
    unchanged = {name: h for name, h in hashes.items() if baseline.hashes.get(name) == h}
    if not unchanged:
        return BuiltReport(report, body, hashes, failing, note)
    facts = collected.facts.model_copy(update=dict.fromkeys(unchanged))
    update: dict[str, Any] = {
        "kind": ReportKind.DELTA,
        "facts": facts,
        "partial": unchanged,
        "base_report_id": uuid.UUID(baseline.report_id),
    }
    if baseline.results_modules is not None and baseline.results_modules == sorted(collected.modules):
        # The collector holds the base's results of these modules: carry only what changed, what
        # is gone, and the hash of the whole set so that it can tell when it holds something else.
        update.update(_changed_results(report.results, digests, baseline.results))
    delta = report.model_copy(update=update)
    # Validate once more: a delta must stay a valid report (partial names known sections, etc.).
    delta = Report.model_validate(delta.model_dump())
    changed = {name: h for name, h in hashes.items() if name not in unchanged}
    return BuiltReport(delta, _serialize(delta), changed, failing, note)


def _key(check_id: str, target: str) -> str:
    return f"{check_id}\0{target}"


def _result_digests(results: list[CheckResult]) -> dict[str, str]:
    """Each result's digest by check and target; the first of duplicates wins, as on the collector."""
    out: dict[str, str] = {}
    for r in results:
        key = _key(r.check_id, r.target)
        if key not in out:
            out[key] = result_digest(result_tuple(r))
    return out


def _changed_results(
    results: list[CheckResult], digests: dict[str, str], base: dict[str, str]
) -> dict[str, Any]:
    """The delta's results: those whose digest differs from the base's (and those the collector
    re-judges itself, always), the keys gone since, and ``results_hash`` of the complete set."""
    from checks.catalog import COLLECTOR_REJUDGED

    carried: list[CheckResult] = []
    seen: set[str] = set()
    for r in results:
        key = _key(r.check_id, r.target)
        if key in seen:
            continue
        seen.add(key)
        if r.check_id in COLLECTOR_REJUDGED or base.get(key) != digests[key]:
            carried.append(r)
    gone = [
        ResultKey(check_id=k.split("\0", 1)[0], target=k.split("\0", 1)[1]) for k in base if k not in digests
    ]
    return {
        "results": carried,
        "results_gone": gone,
        "results_hash": results_set_hash(
            result_tuple(r) for r in results if r.check_id not in COLLECTOR_REJUDGED
        ),
    }


def spool_report(spool: Spool, built: BuiltReport, *, subject: str = HOST_SUBJECT) -> int:
    return spool.enqueue(
        built.body,
        report_id=built.report_id,
        agent_id=built.report.agent_id,
        subject=subject,
        kind=built.kind,
        failing=built.failing,
        sections=(
            {**built.sections, **({RESULTS_ENTRY: built.results} if built.results else {})}
            if subject == HOST_SUBJECT
            else None
        ),
    )


def spool_device_reports(
    settings: AgentSettings, spool: Spool, *, agent_id: str, run: Collection[str] | None = None
) -> tuple[int, list[str]]:
    """Each capability with reports of its own (network devices) whose schedule is due: its reports,
    each spooled on its own."""
    problems: list[str] = []
    count = 0
    for cap in CAPABILITIES:
        if cap.reports is None or (run is not None and cap.name not in run):
            continue
        for report in _guard(cap.name, problems, cap.reports, settings) or []:
            try:
                spool_own_report(spool, report, agent_id=agent_id)
                count += 1
            except Exception as exc:
                log.warning("%s report not spooled: %s", cap.name, exc)
                problems.append(f"{cap.name} report: {exc}"[:300])
    return count, problems


def spool_own_report(spool: Spool, report: Report, *, agent_id: str) -> int:
    if not report.agent_id:
        report = report.model_copy(update={"agent_id": agent_id})
    failing = sum(1 for r in report.results if r.status in FAILING)
    name = report.subject.device.name if report.subject.device else report.subject.hostname
    return spool.enqueue(
        _serialize(report),
        report_id=str(report.report_id),
        agent_id=report.agent_id,
        subject=f"device:{name}",
        kind=report.kind.value,
        failing=failing,
    )
