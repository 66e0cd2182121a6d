"""Every agent capability, in one list. Adding one: its package with a ``capability.py`` declaring
an ``agent.capability.Capability``, and a line here; its config table, schedule, worker entry point
and CLI command follow from the declaration (tests/agent/test_capabilities.py proves each is wired).
"""

from __future__ import annotations

from typing import Any

from agent.capability import Capability
from agent.certificates.capability import CERTIFICATES
from agent.lan.capability import LAN
from agent.netdevices.capability import NETDEVICES

CAPABILITIES: tuple[Capability[Any], ...] = (CERTIFICATES, LAN, NETDEVICES)


def by_name(name: str) -> Capability[Any] | None:
    return next((c for c in CAPABILITIES if c.name == name), None)
