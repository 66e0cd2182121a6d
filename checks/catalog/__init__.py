"""Loads the check catalog: every ``*.yaml`` file in this folder is a list of check definitions."""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml

from checks.model import CheckDefinition


class CatalogError(ValueError):
    pass


@cache
def load_catalog() -> dict[str, CheckDefinition]:
    checks: dict[str, CheckDefinition] = {}
    for entry in sorted(resources.files(__name__).iterdir(), key=lambda p: p.name):
        if not entry.name.endswith(".yaml"):
            continue
        items = yaml.safe_load(entry.read_text(encoding="utf-8")) or []
        if not isinstance(items, list):
            raise CatalogError(f"{entry.name}: expected a list of checks")
        for i, raw in enumerate(items):
            try:
                check = CheckDefinition.model_validate(raw)
            except ValueError as exc:
                raise CatalogError(f"{entry.name}[{i}]: {exc}") from exc
            if check.id in checks:
                raise CatalogError(f"{entry.name}: duplicate check id {check.id!r}")
            checks[check.id] = check
    return checks
