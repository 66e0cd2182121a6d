"""Runs every named case in tests/checks/cases/*.yaml through the real runner (format: cases/README.md)."""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections import defaultdict
from collections.abc import Callable

import pytest

from checks.evaluators import _util
from checks.model import Verdict, registry
from checks.runner import CannotObserve, run_check
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
    seen = _statuses_by_evaluator()
    shipped = [n for n, ev in registry().items() if ev.fn.__module__.startswith("checks.evaluators.")]
    need = (CheckStatus.PASS, CheckStatus.FAIL)
    missing = [
        f"{name}: needs {', '.join(s.value for s in need if s not in seen[name])}"
        for name in sorted(shipped)
        if not set(need) <= seen[name]
    ]
    assert not missing, "evaluators without a pass and a fail case:\n" + "\n".join(missing)


def _statuses_by_evaluator() -> dict[str, set[CheckStatus]]:
    seen: dict[str, set[CheckStatus]] = defaultdict(set)
    for _, case in CASES:
        statuses = set(case.expect.values()) if isinstance(case.expect, dict) else {case.expect}
        seen[case.evaluator_name()] |= statuses
    return seen


def can_be_unknown(fn: Callable[..., object]) -> bool:
    """Whether an evaluator can give ``unknown``, read from its source: it (or a helper function of its
    own module or of ``checks.evaluators._util`` that it calls, at any depth) names ``CannotObserve``
    or ``Verdict.unknown``. Names are resolved in the function's module, so a local variable that
    happens to be called ``part`` is not mistaken for ``_util.part``."""
    helper_modules = {fn.__module__, _util.__name__}
    todo: list[Callable[..., object]] = [fn]
    done: set[Callable[..., object]] = set()
    while todo:
        f = todo.pop()
        if f in done:
            continue
        done.add(f)
        names = f.__globals__
        for node in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(f)))):
            if isinstance(node, ast.Name):
                target = names.get(node.id)
                if target is CannotObserve:
                    return True
                if inspect.isfunction(target) and target.__module__ in helper_modules:
                    todo.append(target)
            elif (
                isinstance(node, ast.Attribute)
                and node.attr == "unknown"
                and isinstance(node.value, ast.Name)
                and names.get(node.value.id) is Verdict
            ):
                return True
    return False


# Evaluators that can give ``unknown`` but need no ``unknown`` case, each with the reason. Keep it empty
# unless a case truly cannot be written.
UNKNOWN_CASE_EXEMPT: dict[str, str] = {}


def test_every_evaluator_that_can_be_unknown_has_an_unknown_case() -> None:
    """Host checks that cannot see do not pass: each one that can say "could not observe" shows it in a
    case, with the facts an agent sends when it lacked privilege or could not read the state."""
    seen = _statuses_by_evaluator()
    shipped = {n: ev for n, ev in registry().items() if ev.fn.__module__.startswith("checks.evaluators.")}
    able = {n for n, ev in shipped.items() if can_be_unknown(ev.fn)}
    # The reading itself works: the firewall check raises CannotObserve through _util.part and itself,
    # and Windows 11 eligibility never gives unknown, on purpose (the replacement score reads its
    # not_applicable; docs/architecture.md, "A check that cannot observe never passes").
    assert {"host.firewall_enabled", "host.password_min_length"} <= able
    assert "host.windows11_eligible" not in able
    assert set(UNKNOWN_CASE_EXEMPT) <= able, "exempt evaluators that cannot give unknown"
    missing = sorted(n for n in able if n not in UNKNOWN_CASE_EXEMPT and CheckStatus.UNKNOWN not in seen[n])
    assert not missing, "evaluators that can give unknown without an `expect: unknown` case:\n" + "\n".join(
        missing
    )
