"""Runs every named case in tests/checks/cases/*.yaml through the real runner (format: cases/README.md)."""

from __future__ import annotations

from collections import defaultdict

import pytest

from checks.model import registry
from checks.runner import run_check
from inventory.facts import Facts
from inventory.report import CheckStatus
from tests.checks.support import CASES, DEFAULT_NOW, Case


@pytest.mark.parametrize(("module", "case"), CASES, ids=[f"{m}:{c.name}" for m, c in CASES])
def test_case(module: str, case: Case) -> None:
    check = case.definition()
    ev = registry().get(check.evaluator)
    assert ev is not None, f"unknown evaluator {check.evaluator!r}"
    assert ev.fn.__module__.rsplit(".", 1)[-1] == module, (
        f"evaluator {ev.name!r} lives in {ev.fn.__module__}, not in {module}.py"
    )
    facts = Facts.model_validate(case.facts)
    results = run_check(check, facts, now=case.now or DEFAULT_NOW)
    shown = [(r.target, r.status.value, r.evidence) for r in results]
    if isinstance(case.expect, dict):
        got = {r.target: r.status for r in results}
        assert got == case.expect, shown
    else:
        assert results, "no result"
        assert all(r.status == case.expect for r in results), shown
    if case.evidence is not None:
        assert any(case.evidence.lower() in r.evidence.lower() for r in results), shown


def test_every_evaluator_has_a_pass_and_a_fail_case() -> None:
    seen: dict[str, set[CheckStatus]] = defaultdict(set)
    for _, case in CASES:
        statuses = set(case.expect.values()) if isinstance(case.expect, dict) else {case.expect}
        seen[case.evaluator_name()] |= statuses
    shipped = [n for n, ev in registry().items() if ev.fn.__module__.startswith("checks.evaluators.")]
    need = (CheckStatus.PASS, CheckStatus.FAIL)
    missing = [
        f"{name}: needs {', '.join(s.value for s in need if s not in seen[name])}"
        for name in sorted(shipped)
        if not set(need) <= seen[name]
    ]
    assert not missing, "evaluators without a pass and a fail case:\n" + "\n".join(missing)
