"""Runs the catalog's checks over a subject's facts."""

from __future__ import annotations

from collections.abc import Iterable

from checks.catalog import load_catalog
from checks.model import CheckDefinition, SubjectKind, Verdict, registry
from inventory.facts import Facts
from inventory.report import CheckResult, CheckStatus


class MissingFact(LookupError):
    """Raised by an evaluator when a fact it needs was not collected: the check is not applicable."""


def run_check(check: CheckDefinition, facts: Facts) -> list[CheckResult]:
    evaluators = registry()
    ev = evaluators.get(check.evaluator)
    if ev is None:
        return [
            CheckResult(
                check_id=check.id, status=CheckStatus.ERROR, evidence=f"unknown evaluator {check.evaluator!r}"
            )
        ]
    try:
        params = ev.params_model.model_validate(check.params)
        out = ev.fn(facts, params)
    except MissingFact as exc:
        return [
            CheckResult(
                check_id=check.id, status=CheckStatus.NOT_APPLICABLE, evidence=f"fact not collected: {exc}"
            )
        ]
    except Exception as exc:  # an evaluator bug must not stop the other checks
        return [
            CheckResult(
                check_id=check.id, status=CheckStatus.ERROR, evidence=f"{type(exc).__name__}: {exc}"[:4000]
            )
        ]
    verdicts = out if isinstance(out, list) else [out]
    return [_result(check, v) for v in verdicts]


def _result(check: CheckDefinition, v: Verdict) -> CheckResult:
    observed = dict(v.observed)
    if v.severity is not None:
        observed.setdefault("severity", v.severity.value)
    return CheckResult(
        check_id=check.id, status=v.status, evidence=v.evidence[:4000], observed=observed, target=v.target
    )


def run_checks(
    facts: Facts,
    *,
    subject: SubjectKind = "host",
    platform: str | None = None,
    modules: Iterable[str] | None = None,
) -> list[CheckResult]:
    """Every applicable check of the catalog, optionally only those of some agent modules."""
    wanted = set(modules) if modules is not None else None
    results: list[CheckResult] = []
    for check in load_catalog().values():
        if subject not in check.applies_to:
            continue
        if wanted is not None and check.module not in wanted:
            continue
        if platform and check.platforms and platform not in check.platforms:
            results.append(
                CheckResult(
                    check_id=check.id,
                    status=CheckStatus.NOT_APPLICABLE,
                    evidence=f"not a check for {platform}",
                )
            )
            continue
        results.extend(run_check(check, facts))
    return results
