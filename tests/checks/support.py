"""The named check cases of tests/checks/cases/*.yaml (format: cases/README.md), loaded and validated."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from checks.catalog import load_catalog
from checks.model import CheckDefinition, Localized, Severity
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
