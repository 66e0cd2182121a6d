"""Runs the catalog's checks over a subject's facts.

Every check yields at least one result: a verdict from its evaluator, ``not_applicable`` when a
fact it needs was not collected (the evaluator raised ``MissingFact``: the section was not part of
this report, or the check is not for this platform), ``unknown`` when the agent looked but could not
see (``CannotObserve``: no privilege, state unreadable; never a pass), and ``error`` with the message
when the evaluator itself failed. One failing evaluator never stops the others.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TypeVar

from checks.catalog import load_catalog
from checks.model import CheckDefinition, SubjectKind, Verdict, evaluation_time, msg, registry
from inventory.facts import Facts
from inventory.report import CheckResult, CheckStatus, EvidenceMessage

T = TypeVar("T")


class MissingFact(LookupError):
    """Raised by an evaluator when a fact it needs was not collected: the check is not applicable."""


class CannotObserve(LookupError):
    """Raised by an evaluator when the agent tried but could not observe what the check needs (no
    privilege, a state it cannot read): the result is ``unknown``, which never counts as a pass."""


def require(value: T | None, what: str) -> T:
    """``value`` if it was collected, else ``MissingFact(what)`` (the check becomes not applicable)."""
    if value is None:
        raise MissingFact(what)
    return value


def run_check(check: CheckDefinition, facts: Facts, *, now: datetime | None = None) -> list[CheckResult]:
    """One check's results; ``now`` fixes the evaluation time (default: the current run's, or the clock)."""
    if now is not None:
        with evaluation_time(now):
            return run_check(check, facts)
    ev = registry().get(check.evaluator)
    if ev is None:
        return [_plain(check, CheckStatus.ERROR, f"unknown evaluator {check.evaluator!r}")]
    try:
        params = ev.params_model.model_validate(check.params)
        out = ev.fn(facts, params)
    except MissingFact as exc:
        missing = msg("fact not collected: %(what)s", what=str(exc)[:3900])
        return [_plain(check, CheckStatus.NOT_APPLICABLE, missing.english(), missing)]
    except CannotObserve as exc:
        # The fact path is data (not translated); the sentence around it is a message.
        unseen = msg("could not observe: %(what)s", what=str(exc)[:3900])
        return [_plain(check, CheckStatus.UNKNOWN, unseen.english(), unseen)]
    except Exception as exc:  # an evaluator bug must not stop the other checks
        return [_plain(check, CheckStatus.ERROR, f"{type(exc).__name__}: {exc}")]
    verdicts = out if isinstance(out, list) else [out]
    if not all(isinstance(v, Verdict) for v in verdicts):
        return [_plain(check, CheckStatus.ERROR, f"evaluator {ev.name!r} returned {type(out).__name__}")]
    return [_result(check, v) for v in verdicts]


def _plain(
    check: CheckDefinition, status: CheckStatus, evidence: str, message: EvidenceMessage | None = None
) -> CheckResult:
    return CheckResult(check_id=check.id, status=status, evidence=evidence[:4000], message=message)


def _result(check: CheckDefinition, v: Verdict) -> CheckResult:
    observed = dict(v.observed)
    if v.severity is not None:
        # The collector reads an observed "severity" as this result's own severity.
        observed.setdefault("severity", v.severity.value)
    return CheckResult(
        check_id=check.id,
        status=v.status,
        evidence=v.evidence[:4000],
        observed=observed,
        target=v.target[:500],
        message=v.message,
    )


def run_checks(
    facts: Facts,
    *,
    subject: SubjectKind = "host",
    platform: str | None = None,
    modules: Iterable[str] | None = None,
    now: datetime | None = None,
    catalog: Mapping[str, CheckDefinition] | None = None,
) -> list[CheckResult]:
    """Every applicable check of the catalog, optionally only those of some agent modules.

    ``platform`` defaults to ``facts.os.family`` (linux, windows); a check limited to other platforms
    gives ``not_applicable``. ``now`` fixes the evaluation time of the whole run.
    """
    wanted = set(modules) if modules is not None else None
    if platform is None and facts.os is not None:
        platform = facts.os.family.lower()
    results: list[CheckResult] = []
    with evaluation_time(now):
        for check in (catalog if catalog is not None else load_catalog()).values():
            if subject not in check.applies_to:
                continue
            if wanted is not None and check.module not in wanted:
                continue
            if platform and check.platforms and platform not in check.platforms:
                results.append(_plain(check, CheckStatus.NOT_APPLICABLE, f"not a check for {platform}"))
                continue
            results.extend(run_check(check, facts))
    return results
