"""What crosses the boundary between the long-running agent (the supervisor) and its worker children.

Standard library only: ``wardwatch agent run`` imports this and must stay small (no pydantic, no
fact models). The worker (``python -m agent.worker``) validates the settings with pydantic and
answers with the dataclasses below as one JSON line; the supervisor reads them back into the same
dataclasses, so both sides name the same fields and a misspelt key is a type error, not a silent
``None``. The heartbeat is built here, once, for the same reason (it is sent by the supervisor).

    python -m agent.worker settings [--config FILE] [--state-dir DIR]   -> SettingsMessage
    python -m agent.worker collect --modules inventory,checks,... [--full] -> CollectResult
    python -m agent.worker deliver                                       -> agent.flush.FlushResult

``collect`` and ``deliver`` read ``SupervisorSettings.worker_input`` (the full settings, secrets
revealed) on stdin: secrets never travel in argv or the environment.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from inventory import __version__
from inventory.wire import SCHEMA_VERSION

if TYPE_CHECKING:
    from agent.spool import QuarantinedRecord

# The supervisor's own modules; capabilities (agent.capabilities) add theirs by name.
HEARTBEAT, INVENTORY, CHECKS = "heartbeat", "inventory", "checks"
HOST_MODULES = (INVENTORY, CHECKS)
HOST_SUBJECT = "host"
QUARANTINE_TOLD = 10  # the newest quarantined reports a heartbeat describes (inventory.report.Quarantine)


class WorkerExit(IntEnum):
    """A worker child's exit status."""

    OK = 0
    CRASHED = 1  # an uncaught exception (Python's own status; the traceback is on stderr)
    CONFIG = 2  # the settings are not valid; the last line on stderr says why
    SPOOL = 3  # the spool could not be opened or written; the result's ``error`` says why


# -- settings ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Intervals:
    """Seconds between runs of the supervisor's own modules (``agent.config.Intervals``)."""

    heartbeat: float
    inventory: float
    full_report: float
    checks: float
    splay: float


@dataclass(frozen=True)
class SpoolLimits:
    max_bytes: int
    max_age_days: float


@dataclass(frozen=True)
class DeliveryOptions:
    """``agent.config.DeliveryConfig``, as the supervisor and an in-process Deliverer read it."""

    connect_timeout: float
    read_timeout: float
    backoff_base: float
    backoff_cap: float
    retry_after_max: float
    batch_size: int
    once_attempts: int


@dataclass(frozen=True)
class CapabilitySchedule:
    """One capability's schedule, as its declaration (``agent.capability.Capability``) computed it."""

    name: str  # the module name: schedule key, ``--modules`` item
    interval: float  # seconds between runs
    enabled: bool  # configured to run on its schedule
    in_host_report: bool  # its section rides the host report (else it spools reports of its own)


@dataclass(frozen=True)
class SupervisorSettings:
    """The settings the supervisor and an in-process delivery read; no pydantic."""

    state_dir: Path
    collector_url: str | None
    enroll_secret: str | None
    ca_bundle: Path | None
    pinned_cert_sha256: str | None
    log_level: str
    intervals: Intervals
    spool: SpoolLimits
    delivery: DeliveryOptions
    capabilities: tuple[CapabilitySchedule, ...]
    # The full settings as JSON, secrets revealed: a worker child's stdin, never logged.
    worker_input: str = field(repr=False)

    def capability(self, name: str) -> CapabilitySchedule | None:
        return next((c for c in self.capabilities if c.name == name), None)

    def enabled(self, *, in_host_report: bool | None = None) -> list[str]:
        """Names of the capabilities that run on their schedule (optionally: only host-report ones)."""
        return [
            c.name
            for c in self.capabilities
            if c.enabled and (in_host_report is None or c.in_host_report == in_host_report)
        ]


def _pick(cls: type[Any], data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


@dataclass(frozen=True)
class SettingsMessage:
    """What ``worker settings`` prints: the full settings and each capability's schedule."""

    settings: dict[str, Any]
    schedules: list[CapabilitySchedule]

    def to_json(self) -> str:
        return json.dumps({"settings": self.settings, "schedules": [asdict(s) for s in self.schedules]})

    @classmethod
    def from_json(cls, text: str) -> SettingsMessage:
        data = json.loads(text)
        return cls(
            settings=data["settings"],
            schedules=[CapabilitySchedule(**_pick(CapabilitySchedule, s)) for s in data["schedules"]],
        )

    def supervisor_settings(self) -> SupervisorSettings:
        s = self.settings
        return SupervisorSettings(
            state_dir=Path(s["state_dir"]),
            collector_url=s.get("collector_url"),
            enroll_secret=s.get("enroll_secret"),
            ca_bundle=Path(s["ca_bundle"]) if s.get("ca_bundle") else None,
            pinned_cert_sha256=s.get("pinned_cert_sha256"),
            log_level=str(s.get("log_level") or "INFO"),
            intervals=Intervals(**_pick(Intervals, s["intervals"])),
            spool=SpoolLimits(**_pick(SpoolLimits, s["spool"])),
            delivery=DeliveryOptions(**_pick(DeliveryOptions, s["delivery"])),
            capabilities=tuple(self.schedules),
            worker_input=json.dumps(s),
        )


# -- results -------------------------------------------------------------------------------------


class HostIdentityJson(TypedDict, total=False):
    """``inventory.report.HostIdentity`` as JSON: what a heartbeat names the host by."""

    machine_id: str | None
    serial: str | None
    mac: str | None


@dataclass
class CollectResult:
    """What ``worker collect`` did: the host report it built (if any) and everything it spooled."""

    spooled: int = 0
    problems: list[str] = field(default_factory=list)
    error: str | None = None
    stopped: bool = False  # a stop signal came before the spool write began
    # The host report, when one was built.
    report_id: str | None = None
    kind: str | None = None  # full, delta
    bytes: int | None = None
    results: int | None = None
    failing: int | None = None
    hostname: str | None = None
    identity: HostIdentityJson | None = None
    devices: int | None = None  # device reports spooled
    seconds: float = 0.0
    # The worker's own peak RSS and CPU and its commands' (bench/agent_footprint.py reads them).
    usage: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> str:
        data = asdict(self)
        data.update(data.pop("usage"))  # flat, as the bench has always read them
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> CollectResult:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("a worker result is a JSON object")
        usage = {
            k: float(v) for k, v in data.items() if k not in _COLLECT_FIELDS and isinstance(v, int | float)
        }
        return cls(**_pick(cls, data), usage=usage)


_COLLECT_FIELDS = {f.name for f in fields(CollectResult)}


def last_json_line(stdout: str) -> str | None:
    """A worker's answer: its last line that is a JSON object (logging goes to stderr, but be lenient)."""
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    return lines[-1] if lines else None


# -- the heartbeat -------------------------------------------------------------------------------


def _utc_iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


class QuarantinedJson(TypedDict):
    report_id: str | None
    kind: str | None
    subject: str | None
    reason: str
    quarantined_at: str


class QuarantineJson(TypedDict):
    """A heartbeat's ``quarantine`` (``inventory.report.Quarantine``)."""

    count: int
    recent: list[QuarantinedJson]


def heartbeat_json(
    *,
    agent_id: str,
    hostname: str,
    identity: HostIdentityJson | dict[str, Any] | None,
    quarantine: QuarantineJson | None = None,
) -> tuple[str, bytes]:
    """A heartbeat report (``inventory.report.Report`` of kind heartbeat) as JSON: (report id, body)."""
    report_id = str(uuid.uuid4())
    data: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "report_id": report_id,
        "agent_id": agent_id,
        "agent_version": __version__,
        "collected_at": _utc_iso(datetime.now(UTC)),
        "kind": "heartbeat",
        "subject": {"kind": "host", "hostname": hostname, "host": identity or None},
    }
    if quarantine is not None:
        data["quarantine"] = quarantine
    return report_id, json.dumps(data, separators=(",", ":")).encode()


def _wire_text(text: str | None, limit: int) -> str | None:
    """Free text for the wire: no control characters (the collector refuses NUL), bounded."""
    if text is None:
        return None
    return "".join(c if c.isprintable() else " " for c in text)[:limit]


def quarantine_note(count: int, records: list[QuarantinedRecord]) -> QuarantineJson:
    """The heartbeat's ``quarantine`` field (``inventory.report.Quarantine``) from
    ``agent.spool.QuarantinedRecord`` rows, as plain JSON."""
    recent: list[QuarantinedJson] = [
        {
            "report_id": _wire_text(r.report_id, 36),
            "kind": _wire_text(r.kind, 16),
            "subject": _wire_text(r.subject, 300),
            "reason": _wire_text(r.reason, 500) or "?",
            "quarantined_at": _utc_iso(datetime.fromtimestamp(r.quarantined_at, UTC)),
        }
        for r in records[:QUARANTINE_TOLD]
    ]
    return {"count": count, "recent": recent}
