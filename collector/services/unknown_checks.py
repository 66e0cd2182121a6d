"""Results whose check id this collector's catalog does not know (a newer agent, a vendor's check).

They are kept, bounded (``report_max_unknown_results`` per device), and belong to a module like any
result, so the next report of that module replaces them: the module is the one the catalog gives to
the id's first segment (``host.`` -> checks, ``cert.`` -> certs ...), else the subject's own module
(checks for a host, devices for a network device). Together they open one finding per device,
``UNKNOWN_CHECKS_ID``, instead of one per id (a device once reached 40,052 open findings).
"""

from __future__ import annotations

from functools import cache

from checks.catalog import load_catalog

UNKNOWN_CHECKS_ID = "collector.unknown_checks"
SUBJECT_MODULE = {"host": "checks", "network_device": "devices"}
# Ids and targets named in the finding's evidence; the count says how many there are in all.
EVIDENCE_NAMES = 20


def is_known(check_id: str) -> bool:
    return check_id in load_catalog()


@cache
def _prefix_modules() -> dict[str, str]:
    """First id segment -> module, for the segments the catalog uses for one module only."""
    seen: dict[str, set[str]] = {}
    for check in load_catalog().values():
        seen.setdefault(check.id.split(".", 1)[0], set()).add(check.module)
    return {prefix: next(iter(mods)) for prefix, mods in seen.items() if len(mods) == 1}


def module_of(check_id: str, *, subject_kind: str) -> str:
    """The agent module a result belongs to, known check or not."""
    check = load_catalog().get(check_id)
    if check is not None:
        return check.module
    prefix = check_id.split(".", 1)[0]
    return _prefix_modules().get(prefix) or SUBJECT_MODULE.get(subject_kind, "checks")


def evidence(failing: list[tuple[str, str]]) -> str:
    """``vendor.a, vendor.b [C:\\] (+3)``: the failing unknown checks, targets in brackets."""
    names = [f"{c} [{t}]" if t else c for c, t in sorted(failing)[:EVIDENCE_NAMES]]
    more = len(failing) - len(names)
    return ", ".join(names) + (f" (+{more})" if more > 0 else "")
