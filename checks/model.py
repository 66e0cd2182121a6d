"""Check definitions (data), the evaluator registry, and the verdict an evaluator returns.

A check is a YAML entry in ``checks/catalog/*.yaml`` naming an evaluator and its params; an
evaluator is a pure function ``(facts, params) -> Verdict | list[Verdict]`` registered with
``@evaluator``. Evaluators do no I/O: collection happens in ``inventory``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from inventory.facts import Facts
from inventory.report import CheckStatus, EvidenceMessage, MessageParam


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


class Localized(BaseModel):
    model_config = ConfigDict(extra="forbid")
    vi: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, lang: str) -> str:
        return self.vi if lang == "vi" else self.en


SubjectKind = Literal["host", "network_device"]


def _english(value: Any) -> Any:
    # Older catalogs (and tests) wrote {vi: ..., en: ...}; the Vietnamese now lives in the gettext
    # catalog checks/locales/vi/checks.po, keyed by the English text.
    if isinstance(value, Localized):
        return value.en
    if isinstance(value, dict) and "en" in value:
        return value["en"]
    return value


# A check text: the English msgid, translated when shown (collector.i18n) in the reader's language.
CheckText = Annotated[str, BeforeValidator(_english), Field(min_length=1)]


# Evaluator names are ``<area>.<name>`` (``host.os_supported``, ``lan.rogue_dhcp``). The LAN and network
# device evaluators were named ``lan_*`` and ``netdev_*`` before (issue 19): a catalog written then still
# loads, its names read as today's. Check ids (stored in results and findings) never changed.
EVALUATOR_NAME = r"^[a-z][a-z0-9_]*\.[a-z0-9_]+$"
EVALUATOR_ALIASES: dict[str, str] = {
    **{
        f"lan_{n}": f"lan.{n}"
        for n in (
            "arp_conflict",
            "gateway_mac_changed",
            "risky_service",
            "rogue_dhcp",
            "router_admin_exposed",
            "snmp_default_community",
            "unknown_device",
        )
    },
    **{
        f"netdev_{n}": f"netdevice.{n}"
        for n in (
            "audit_flag",
            "default_account",
            "enable_secret",
            "firmware_minimum",
            "idle_timeout",
            "lines_without_login",
            "list_present",
            "poll_ok",
            "reversible_passwords",
            "snmp_default_community",
            "snmp_rw_community",
            "snmp_v3",
            "unneeded_services",
        )
    },
}


def current_evaluator_name(name: Any) -> Any:
    """An evaluator's name as registered today (a former name is mapped through ``EVALUATOR_ALIASES``)."""
    return EVALUATOR_ALIASES.get(name, name) if isinstance(name, str) else name


class CheckDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9_.-]+$")
    title: CheckText
    severity: Severity
    applies_to: list[SubjectKind] = Field(min_length=1)
    # The agent module whose cycle produces this result (checks, certs, lan, devices).
    module: str = "checks"
    rationale: CheckText
    remediation: CheckText
    references: list[str] = Field(min_length=1)
    evaluator: Annotated[str, BeforeValidator(current_evaluator_name)]
    params: dict[str, Any] = Field(default_factory=dict)
    platforms: list[str] = Field(default_factory=list)  # empty: every platform of applies_to


def msg(message_id: str, **params: MessageParam) -> EvidenceMessage:
    """Evidence as a message: an English msgid with %(name)s placeholders and its parameters.

    The Vietnamese is in checks/locales/vi/evidence.po; parameters are data (names, counts), never prose.
    """
    return EvidenceMessage(id=message_id, params=params)


def term(text: str, **params: str | int | float) -> str:
    """Mark a word the evaluator puts into a message parameter where the data has no name ("host
    firewall"): it is an evidence msgid too, so the collector shows it in the reader's language.

    With parameters it is a phrase around data ("%(line)s: never", "RAM %(gb)s GB"), written in
    English here; its msgid is in checks/locales/vi/evidence_terms.po, whose placeholders the collector
    reads back as a pattern (alone, or as an item of a "; " or ", " list) to show it translated.
    """
    return text % params if params else text


Evidence = str | EvidenceMessage


@dataclass(frozen=True, init=False)
class Verdict:
    status: CheckStatus
    evidence: str = ""
    observed: dict[str, Any] = field(default_factory=dict)
    target: str = ""
    # An evaluator may raise the severity for one result (e.g. a certificate expiring in 7 days).
    severity: Severity | None = None
    # The evidence as a message id and parameters when the evaluator gave one (rendered by the reader's
    # language); ``evidence`` is then its English text, for collectors that predate messages.
    message: EvidenceMessage | None = None

    def __init__(
        self,
        status: CheckStatus,
        evidence: Evidence = "",
        observed: dict[str, Any] | None = None,
        target: str = "",
        severity: Severity | None = None,
        message: EvidenceMessage | None = None,
    ) -> None:
        if isinstance(evidence, EvidenceMessage):
            message, evidence = evidence, evidence.english()
        object.__setattr__(self, "status", status)
        object.__setattr__(self, "evidence", evidence)
        object.__setattr__(self, "observed", dict(observed or {}))
        object.__setattr__(self, "target", target)
        object.__setattr__(self, "severity", severity)
        object.__setattr__(self, "message", message)

    @classmethod
    def passed(cls, evidence: Evidence, **observed: Any) -> Verdict:
        return cls(CheckStatus.PASS, evidence, observed)

    @classmethod
    def failed(cls, evidence: Evidence, **observed: Any) -> Verdict:
        return cls(CheckStatus.FAIL, evidence, observed)

    @classmethod
    def fail_if(cls, failing: bool, evidence: Evidence, **observed: Any) -> Verdict:
        """Failed when ``failing``, else passed, with the same evidence either way."""
        return cls(CheckStatus.FAIL if failing else CheckStatus.PASS, evidence, observed)

    @classmethod
    def not_applicable(cls, evidence: Evidence, **observed: Any) -> Verdict:
        return cls(CheckStatus.NOT_APPLICABLE, evidence, observed)

    @classmethod
    def skipped(cls, evidence: Evidence, **observed: Any) -> Verdict:
        return cls(CheckStatus.SKIPPED, evidence, observed)

    @classmethod
    def unknown(cls, evidence: Evidence, **observed: Any) -> Verdict:
        """The check applies but the agent could not observe what it needs (e.g. no privilege)."""
        return cls(CheckStatus.UNKNOWN, evidence, observed)

    @classmethod
    def error(cls, evidence: Evidence, **observed: Any) -> Verdict:
        return cls(CheckStatus.ERROR, evidence, observed)


# The moment a run judges against ("is this OS still supported today?"). Evaluators read it via
# ``now()`` instead of the wall clock so that a run, and every named test case, is reproducible.
_NOW: ContextVar[datetime | None] = ContextVar("wardwatch_checks_now", default=None)


def now() -> datetime:
    """The evaluation time of the current run (aware UTC); the wall clock outside a run."""
    return _NOW.get() or datetime.now(UTC)


@contextmanager
def evaluation_time(at: datetime | None) -> Iterator[datetime]:
    """Judge every check inside the block as of ``at`` (default: now)."""
    if at is not None and at.tzinfo is None:
        raise ValueError("evaluation time must be timezone-aware")
    value = at or datetime.now(UTC)
    token = _NOW.set(value)
    try:
        yield value
    finally:
        _NOW.reset(token)


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


EvaluatorFn = Callable[[Facts, Any], "Verdict | list[Verdict]"]


@dataclass(frozen=True)
class Evaluator:
    name: str
    fn: EvaluatorFn
    params_model: type[BaseModel]


_REGISTRY: dict[str, Evaluator] = {}


def evaluator(name: str, params: type[BaseModel] = NoParams) -> Callable[[EvaluatorFn], EvaluatorFn]:
    """Register a pure function as the evaluator ``name`` with its params model."""

    if not re.match(EVALUATOR_NAME, name):
        raise ValueError(f"evaluator {name!r}: name it <area>.<name>, e.g. host.firewall_enabled")

    def register(fn: EvaluatorFn) -> EvaluatorFn:
        if name in _REGISTRY and _REGISTRY[name].fn is not fn:
            raise ValueError(f"evaluator {name!r} registered twice")
        _REGISTRY[name] = Evaluator(name, fn, params)
        return fn

    return register


def registry() -> dict[str, Evaluator]:
    from checks import evaluators  # noqa: F401  (importing the package registers every evaluator)

    return dict(_REGISTRY)
