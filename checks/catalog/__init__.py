"""Loads the check catalog: every ``*.yaml`` file in this folder is a list of check definitions.

Format of one entry (see ``checks.model.CheckDefinition``)::

    - id: host.firewall.enabled          # unique, [a-z0-9_.-]
      title: "..."                      # English; Vietnamese in checks/locales/vi/checks.po
      severity: high                     # critical, high, medium, low, info
      applies_to: [host]                 # host, network_device
      module: checks                     # the agent module producing the result
      platforms: [windows]               # optional; empty: every platform
      rationale: "..."                  # English (msgid), translated like the title
      remediation: "..."
      references: ["TCVN 11930:2017 ...", "CIS Controls v8 4.5"]
      evaluator: host.firewall_enabled   # a registered evaluator, <area>.<name>
      params: {}                         # validated against the evaluator's params model
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

import yaml

from checks.model import CheckDefinition, registry

_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Checks whose stored verdict the collector re-judges itself (unknown LAN devices against the site's
# registry): a delta always carries them and they stay out of its ``results_hash`` on both sides.
COLLECTOR_REJUDGED = frozenset({"lan.unknown_device"})


class CatalogError(ValueError):
    pass


def catalog_files() -> list[Traversable]:
    return sorted(
        (e for e in resources.files(__name__).iterdir() if e.name.endswith(".yaml")), key=lambda p: p.name
    )


def load_catalog_file(entry: Traversable | Path) -> list[CheckDefinition]:
    """The checks of one YAML file; a bad entry raises ``CatalogError`` naming the file and index."""
    try:
        # libyaml's loader when PyYAML has it: the catalog is read on every agent cycle.
        items = yaml.load(entry.read_text(encoding="utf-8"), Loader=_SAFE_LOADER) or []
    except yaml.YAMLError as exc:
        raise CatalogError(f"{entry.name}: not valid YAML: {exc}") from exc
    if not isinstance(items, list):
        raise CatalogError(f"{entry.name}: expected a list of checks")
    out: list[CheckDefinition] = []
    for i, raw in enumerate(items):
        try:
            out.append(CheckDefinition.model_validate(raw))
        except ValueError as exc:
            ident = raw.get("id") if isinstance(raw, dict) else None
            raise CatalogError(f"{entry.name}[{i}] {ident or ''}: {exc}") from exc
    return out


@cache
def load_catalog() -> dict[str, CheckDefinition]:
    """Every check of the catalog by id (cached: the catalog is data shipped with the package)."""
    checks: dict[str, CheckDefinition] = {}
    for entry in catalog_files():
        for check in load_catalog_file(entry):
            if check.id in checks:
                raise CatalogError(f"{entry.name}: duplicate check id {check.id!r}")
            checks[check.id] = check
    return checks


def catalog_problems(checks: dict[str, CheckDefinition] | None = None) -> list[str]:
    """What is wrong with the catalog beyond its schema: unknown evaluators and invalid params."""
    evaluators = registry()
    problems: list[str] = []
    for check in (checks if checks is not None else load_catalog()).values():
        ev = evaluators.get(check.evaluator)
        if ev is None:
            problems.append(f"{check.id}: unknown evaluator {check.evaluator!r}")
            continue
        try:
            ev.params_model.model_validate(check.params)
        except ValueError as exc:
            problems.append(f"{check.id}: params do not fit evaluator {ev.name!r}: {exc}")
    return problems
