"""Security facts of this host (the ``security`` fact section).

The platform is chosen once, here; ``linux`` and ``windows`` expose the same part functions, each
``(probe) -> part | None``. One part that fails is recorded in ``SecurityFacts.errors`` with its
reason and the other parts are still collected. A part that was read but had to leave a field unset
(a file it needs is unreadable) records why under ``"part.field"`` (``Probe.not_observed``).

Public: :func:`collect_security_facts`.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from types import ModuleType

from inventory.host.security.probe import Probe
from inventory.security import SecurityFacts

log = logging.getLogger(__name__)

# Part of SecurityFacts -> the platform function that reads it.
PARTS: tuple[str, ...] = (
    "firewall",
    "updates",
    "antivirus",
    "accounts",
    "password_policy",
    "screen_lock",
    "listening",
    "remote_access",
    "smb",
    "encryption",
    "time_sync",
    "boot",
    "tpm",
)


def platform_module(platform: str | None = None) -> ModuleType:
    platform = platform or sys.platform
    if platform == "win32":
        from inventory.host.security import windows

        return windows
    from inventory.host.security import linux

    return linux


def collect_security_facts(
    probe: Probe | None = None,
    *,
    platform: str | None = None,
    parts: tuple[str, ...] = PARTS,
    cache_dir: Path | None = None,
) -> SecurityFacts:
    """Read every security part of this host; ``probe`` replaces the system edge in tests.

    ``cache_dir`` keeps the output of slow commands whose answer depends only on files (the package
    manager's pending-updates simulation) until those files change.
    """
    probe = probe or Probe(cache_dir=cache_dir)
    impl = platform_module(platform)
    # No collection time in the section: the report carries it, and a timestamp here would make an
    # unchanged posture look changed, so deltas could never omit the section.
    facts = SecurityFacts()
    for name in parts:
        probe.unseen.clear()
        try:
            value = getattr(impl, name)(probe)
        except Exception as exc:  # one unreadable part must not cost the others
            reason = str(exc) or type(exc).__name__
            if not isinstance(exc, getattr(impl, "PartUnavailable", ())):
                log.warning("security part %s failed: %s", name, reason, exc_info=True)
                reason = f"{type(exc).__name__}: {reason}"
            facts.errors[name] = reason[:300]
            continue
        setattr(facts, name, value)
        if value is not None:
            facts.errors.update({k: v[:300] for k, v in probe.unseen.items()})
    return facts


__all__ = ["PARTS", "Probe", "collect_security_facts", "platform_module"]
