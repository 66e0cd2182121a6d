"""Host inventory. The platform is chosen once, here; ``linux`` and ``windows`` expose the same functions.

Public: :func:`collect_host_facts`, :func:`host_identity`, :func:`hostname`.
"""

from __future__ import annotations

import logging
import sys
import time
from types import ModuleType
from typing import Any

from inventory.facts import Facts
from inventory.report import HostIdentity

log = logging.getLogger(__name__)

# Fact section -> the platform function that produces it. Each runs on its own: one failing
# section is logged and left out (None), the others are still reported.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("system", "system"),
    ("os", "os_info"),
    ("cpu", "cpu"),
    ("memory", "memory"),
    ("disks", "disks"),
    ("filesystems", "filesystems"),
    ("batteries", "batteries"),
    ("network_interfaces", "network_interfaces"),
    ("software", "software"),
    ("users", "users"),
    ("health", "health"),
)
# What every platform module must define (the contract tests check it).
PLATFORM_FUNCTIONS: tuple[str, ...] = (*(fn for _, fn in SECTIONS), "identity", "hostname", "snapshot")


class UnsupportedPlatformError(RuntimeError):
    """The host inventory runs on Linux and Windows only."""


def _choose(platform: str) -> ModuleType | None:
    if platform.startswith("linux"):
        from inventory.host import linux

        return linux
    if platform == "win32":
        from inventory.host import windows

        return windows
    return None


_platform = _choose(sys.platform)


def _module() -> ModuleType:
    if _platform is None:
        raise UnsupportedPlatformError(
            f"host inventory supports Linux and Windows; this system is {sys.platform!r}"
        )
    return _platform


# host_identity() right after collect_host_facts() (what an agent cycle does) reuses the identity read
# during the collection: on Windows that saves a second PowerShell start.
_IDENTITY_REUSE_SECONDS = 120.0
_last_identity: tuple[float, HostIdentity] | None = None


def collect_host_facts() -> Facts:
    """Every host fact section this machine can tell; a section that fails is logged and left None."""
    global _last_identity
    platform = _module()
    values: dict[str, Any] = {}
    with platform.snapshot():
        try:
            _last_identity = (time.monotonic(), platform.identity())
        except Exception as exc:
            log.warning("host identity not read: %s", exc)
        for section, function in SECTIONS:
            try:
                values[section] = getattr(platform, function)()
            except Exception as exc:  # one broken source must not cost the whole report
                log.warning(
                    "host facts: section %r not collected: %s",
                    section,
                    exc,
                    exc_info=log.isEnabledFor(logging.DEBUG),
                )
    return Facts(**values)


def host_identity() -> HostIdentity:
    """machine_id, DMI/BIOS system serial and first physical MAC (docs/architecture.md: identity)."""
    if _last_identity and time.monotonic() - _last_identity[0] < _IDENTITY_REUSE_SECONDS:
        return _last_identity[1].model_copy()
    identity: HostIdentity = _module().identity()
    return identity


def hostname() -> str:
    name: str = _module().hostname()
    return name
