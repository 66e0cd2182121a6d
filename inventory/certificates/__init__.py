"""Certificate discovery: files and folders, system trust store, NSS, PKCS#11 tokens, Windows stores.

Discovery reads; it does not judge (validation lives in ``agent.certificates``). Each function
returns a :class:`~inventory.certificates.model.DiscoveryResult`: what was found, plus a readable
error per place that could not be read. Platform code lives in ``linux.py`` and ``windows.py`` with
the same functions; :func:`platform_module` chooses once. ``facts.py`` is the report section
(``facts.certificates``) that the agent fills from discovery and validation.
"""

from __future__ import annotations

import sys
from types import ModuleType


def platform_module() -> ModuleType:
    """The module for this OS: ``inventory.certificates.windows`` or ``inventory.certificates.linux``."""
    if sys.platform == "win32":
        from inventory.certificates import windows

        return windows
    from inventory.certificates import linux

    return linux
