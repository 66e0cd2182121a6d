"""Runs every named case in tests/checks/cases/*.yaml through the real runner (format: cases/README.md)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from checks.catalog import load_catalog
from checks.model import CheckDefinition, Localized, Severity, registry
from checks.runner import run_check
from inventory.facts import Facts
from inventory.report import CheckStatus

CASES_DIR = Path(__file__).parent / "cases"
DEFAULT_NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    evaluator: str | None = None
    check: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    now: datetime | None = None
    facts: dict[str, Any] = Field(default_factory=dict)
    expect: CheckStatus | dict[str, CheckStatus]
    evidence: str | None = None

    @model_validator(mode="after")
    def _one_subject(self) -> Case:
        if (self.evaluator is None) == (self.check is None):
            raise ValueError("give exactly one of `evaluator` or `check`")
        return self

    def definition(self) -> CheckDefinition:
        if self.check is not None:
            base = load_catalog()[self.check]
            return base.model_copy(update={"params": {**base.params, **self.params}})
        text = Localized(vi=self.name, en=self.name)
        return CheckDefinition(
            id="case." + "".join(c if c.isalnum() else "-" for c in self.name.lower())[:100],
            title=text,
            severity=Severity.LOW,
            applies_to=["host", "network_device"],
            rationale=text,
            remediation=text,
            references=["test case"],
            evaluator=self.evaluator or "",
            params=self.params,
        )

    def evaluator_name(self) -> str:
        return self.definition().evaluator


def load_cases() -> list[tuple[str, Case]]:
    out: list[tuple[str, Case]] = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        items = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        assert isinstance(items, list), f"{path.name}: expected a list of cases"
        seen: set[str] = set()
        for i, raw in enumerate(items):
            try:
                case = Case.model_validate(raw)
            except ValueError as exc:
                raise AssertionError(f"{path.name}[{i}]: {exc}") from exc
            assert case.name not in seen, f"{path.name}: duplicate case name {case.name!r}"
            seen.add(case.name)
            out.append((path.stem, case))
    return out


CASES = load_cases()


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
