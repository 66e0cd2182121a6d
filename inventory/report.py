"""The wire contract between agent and collector.

Plain pydantic v2 models; nothing here imports agent or collector code. Additive changes keep
``SCHEMA_VERSION``; a breaking change bumps it and the collector accepts the two latest versions.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from inventory.facts import SECTION_NAMES, Facts

SCHEMA_VERSION = 1
SUPPORTED_SCHEMA_VERSIONS: frozenset[int] = frozenset({1})


class CheckStatus(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    NOT_APPLICABLE = "not_applicable"
    SKIPPED = "skipped"
    # The check applies but could not see (no privilege, unreadable state): never a pass, and counted
    # as not passed in the compliance score. Additive: added without a schema version bump.
    UNKNOWN = "unknown"


class CheckResult(BaseModel):
    """One check's verdict. ``evidence`` is short, human readable and never holds a secret."""

    model_config = ConfigDict(extra="forbid")

    check_id: str = Field(min_length=1, max_length=200)
    status: CheckStatus
    evidence: str = Field(default="", max_length=4000)
    observed: dict[str, Any] = Field(default_factory=dict)
    # Which thing the verdict is about when a check runs per item (a certificate, a LAN host);
    # empty for a check about the whole subject.
    target: str = Field(default="", max_length=500)


class HostIdentity(BaseModel):
    """How the collector recognises a host across reports (DESIGN §3).

    ``machine_id`` alone is not enough: cloned disk images share it. The collector compares the
    serial and the first physical MAC too and keeps two devices when they differ.
    """

    machine_id: str | None = None
    serial: str | None = None
    mac: str | None = None  # first physical MAC, lower case, colon separated

    @field_validator("mac")
    @classmethod
    def _normal_mac(cls, v: str | None) -> str | None:
        return v.lower().replace("-", ":") if v else v


class NetworkDeviceIdentity(BaseModel):
    name: str
    host: str
    platform: str
    serial: str | None = None


class Subject(BaseModel):
    kind: Literal["host", "network_device"] = "host"
    hostname: str = Field(min_length=1, max_length=255)
    host: HostIdentity | None = None
    device: NetworkDeviceIdentity | None = None
    site: str | None = None  # a network device names its site; a host belongs to its agent's site


class ReportKind(StrEnum):
    FULL = "full"
    DELTA = "delta"  # unchanged sections travel as their hash in ``partial``
    HEARTBEAT = "heartbeat"  # no facts, no results: proof of life


class QuarantinedReport(BaseModel):
    """One report the agent set aside (the collector refused it for good, or it was damaged on disk)."""

    model_config = ConfigDict(extra="forbid")

    report_id: str | None = Field(default=None, max_length=36)
    kind: str | None = Field(default=None, max_length=16)
    subject: str | None = Field(default=None, max_length=300)  # "host", or "device:<name>"
    reason: str = Field(min_length=1, max_length=500)
    quarantined_at: AwareDatetime


class Quarantine(BaseModel):
    """What a heartbeat says about the agent's quarantine: how many reports it holds, the newest ones.

    Sent while there are any, and once with ``count`` 0 after the last one is gone.
    """

    model_config = ConfigDict(extra="forbid")

    count: int = Field(ge=0, le=1_000_000)
    recent: list[QuarantinedReport] = Field(default_factory=list, max_length=10)


class Report(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    report_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    agent_id: str
    agent_version: str | None = None
    collected_at: AwareDatetime
    kind: ReportKind = ReportKind.FULL
    subject: Subject
    facts: Facts = Field(default_factory=Facts)
    results: list[CheckResult] = Field(default_factory=list)
    # Sections omitted because unchanged since ``base_report_id``: section name -> hash.
    partial: dict[str, Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]] = Field(default_factory=dict)
    base_report_id: uuid.UUID | None = None
    # Which result ids the report covers; a delta omits results of unchanged modules.
    modules: list[str] = Field(default_factory=list)
    # Heartbeats: the reports this agent quarantined (absent: nothing to say, or an older agent).
    quarantine: Quarantine | None = None

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, v: int) -> int:
        if v not in SUPPORTED_SCHEMA_VERSIONS:
            supported = ", ".join(str(x) for x in sorted(SUPPORTED_SCHEMA_VERSIONS))
            raise ValueError(f"unsupported schema_version {v}; this collector accepts {supported}")
        return v

    @field_validator("partial")
    @classmethod
    def _known_sections(cls, v: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(v) - set(SECTION_NAMES))
        if unknown:
            raise ValueError(f"unknown section(s) in partial: {', '.join(unknown)}")
        return v

    def present_sections(self) -> dict[str, Any]:
        """Sections carried in full in this report, as JSON-ready data."""
        data = self.facts.model_dump(mode="json", exclude_none=True)
        return {name: data[name] for name in SECTION_NAMES if name in data}


def canonical_json(value: Any) -> bytes:
    """Deterministic JSON: the same facts always hash the same on agent and collector."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def section_hash(value: Any) -> str:
    return hashlib.sha256(canonical_json(value)).hexdigest()


def utcnow() -> datetime:
    return datetime.now(UTC)


def report_json_schema() -> dict[str, Any]:
    return Report.model_json_schema()
