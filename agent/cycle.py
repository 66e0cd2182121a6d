"""One collection cycle: facts -> checks -> a report (full, delta or heartbeat) -> the spool.

Every fact source is optional and isolated: a missing module (another capability not installed
yet) is skipped, and one that raises is logged and left out, never the end of the cycle. Heavy
capabilities (certificates, LAN scan, device polls) are imported only when configured.
"""

from __future__ import annotations

import importlib
import logging
import os
import platform
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agent import __version__
from agent.config import AgentSettings
from agent.spool import Spool
from agent.state import Baseline
from inventory.facts import Facts
from inventory.report import (
    CheckResult,
    CheckStatus,
    HostIdentity,
    Report,
    ReportKind,
    Subject,
    utcnow,
)

log = logging.getLogger(__name__)

HOST_SUBJECT = "host"
FAILING = (CheckStatus.FAIL, CheckStatus.ERROR)


def optional(module: str, name: str) -> Callable[..., Any] | None:
    """``module.name`` when it exists (another room may not have landed it yet), else None."""
    try:
        mod = importlib.import_module(module)
    except ImportError:
        return None
    except Exception as exc:  # a broken capability must not break the cycle
        log.warning("cannot import %s: %s", module, exc)
        return None
    fn = getattr(mod, name, None)
    return fn if callable(fn) else None


def _guard(what: str, problems: list[str], fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        log.warning("%s failed: %s", what, exc, exc_info=log.isEnabledFor(logging.DEBUG))
        problems.append(f"{what}: {type(exc).__name__}: {exc}"[:300])
        return None


def capability_enabled(config: Any) -> bool:
    """A capability runs when its table says ``enabled`` (or, lacking that flag, when it was configured)."""
    flag = getattr(config, "enabled", None)
    if flag is not None:
        return bool(flag)
    return bool(getattr(config, "model_fields_set", None))


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


def collect_host(settings: AgentSettings, *, with_checks: bool = True, with_certs: bool = True) -> Collected:
    """Host facts, the optional capability sections, and the host's check results.

    Without ``with_certs`` the certificates section is left out: the collector keeps the one it
    has, and the report's ``modules`` say its certificate results were not re-evaluated.
    """
    problems: list[str] = []
    collect = optional("inventory.host", "collect_host_facts")
    facts = _guard("host facts", problems, collect) if collect else None
    if facts is None:
        facts = _guard("host facts (fallback)", problems, _fallback_facts) or Facts()
    security = optional("inventory.host.security", "collect_security_facts")
    if security is not None:
        facts.security = _guard("security facts", problems, security, cache_dir=settings.state_dir / "cache")
    modules = ["checks"]
    if with_certs and capability_enabled(settings.certs):
        certs = optional("agent.certs", "collect_certificates") or optional(
            "agent.certs.collect", "collect_certificates"
        )
        if certs is not None:
            facts.certificates = _guard("certificates", problems, certs, settings)
            if facts.certificates is not None:
                modules.append("certs")
    facts.network_scan = _lan_facts(settings, problems)
    if facts.network_scan is not None:
        modules.append("lan")

    name_fn = optional("inventory.host", "hostname")
    hostname = (_guard("hostname", problems, name_fn) if name_fn else None) or (
        facts.system.hostname if facts.system else fallback_hostname()
    )
    ident_fn = optional("inventory.host", "host_identity")
    identity = (_guard("host identity", problems, ident_fn) if ident_fn else None) or fallback_identity(facts)

    results: list[CheckResult] = []
    if with_checks:
        run_checks = optional("checks.runner", "run_checks")
        if run_checks is not None:
            family = facts.os.family.lower() if facts.os else None
            results = (
                _guard(
                    "checks", problems, run_checks, facts, subject="host", platform=family, modules=modules
                )
                or []
            )
    return Collected(
        facts=facts,
        results=results,
        modules=modules if with_checks else [],
        hostname=hostname,
        identity=identity,
        problems=problems,
    )


def _lan_facts(settings: AgentSettings, problems: list[str]) -> Any:
    state_dir = settings.state_dir
    if settings.lan.interval_seconds:
        due = optional("agent.lan", "scan_due")
        run = optional("agent.lan", "run_scan")
        if (
            due is not None
            and run is not None
            and _guard("LAN scan schedule", problems, due, settings.lan, state_dir)
        ):
            _guard("LAN scan", problems, run, settings.lan, state_dir)
    latest = optional("agent.lan", "latest_scan")
    return _guard("LAN scan result", problems, latest, state_dir) if latest else None


# -- reports -------------------------------------------------------------------------------------


@dataclass
class BuiltReport:
    report: Report
    body: bytes  # JSON, as sent
    sections: dict[str, str]  # hash of every section carried in full
    failing: int

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
    if full or baseline is None or not baseline.report_id:
        return BuiltReport(report, body, hashes, failing)
    unchanged = {name: h for name, h in hashes.items() if baseline.hashes.get(name) == h}
    if not unchanged:
        return BuiltReport(report, body, hashes, failing)
    facts = collected.facts.model_copy(update=dict.fromkeys(unchanged))
    delta = report.model_copy(
        update={
            "kind": ReportKind.DELTA,
            "facts": facts,
            "partial": unchanged,
            "base_report_id": uuid.UUID(baseline.report_id),
        }
    )
    # Validate once more: a delta must stay a valid report (partial names known sections, etc.).
    delta = Report.model_validate(delta.model_dump())
    changed = {name: h for name, h in hashes.items() if name not in unchanged}
    return BuiltReport(delta, _serialize(delta), changed, failing)


def spool_report(spool: Spool, built: BuiltReport, *, subject: str = HOST_SUBJECT) -> int:
    return spool.enqueue(
        built.body,
        report_id=built.report_id,
        agent_id=built.report.agent_id,
        subject=subject,
        kind=built.kind,
        failing=built.failing,
        sections=built.sections if subject == HOST_SUBJECT else None,
    )


def spool_device_reports(settings: AgentSettings, spool: Spool, *, agent_id: str) -> tuple[int, list[str]]:
    """Poll the configured network devices; each report is spooled on its own."""
    problems: list[str] = []
    if not capability_enabled(settings.devices) or not settings.devices.devices_file:
        return 0, problems
    poll = optional("agent.devices", "poll_devices") or optional("agent.devices.poller", "poll_devices")
    if poll is None:
        return 0, problems
    reports = _guard("device poll", problems, poll, settings) or []
    count = 0
    for report in reports:
        try:
            if not report.agent_id:
                report = report.model_copy(update={"agent_id": agent_id})
            failing = sum(1 for r in report.results if r.status in FAILING)
            name = report.subject.device.name if report.subject.device else report.subject.hostname
            spool.enqueue(
                _serialize(report),
                report_id=str(report.report_id),
                agent_id=report.agent_id,
                subject=f"device:{name}",
                kind=report.kind.value,
                failing=failing,
            )
            count += 1
        except Exception as exc:
            log.warning("device report not spooled: %s", exc)
            problems.append(f"device report: {exc}"[:300])
    return count, problems
