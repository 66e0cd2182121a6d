"""One module per platform, each exposing the same names (psutil's way):

``PLATFORM``, ``VENDOR``, ``FACT_COMMANDS``, ``CONFIG_COMMAND``, ``is_read_only(command)``,
``parse_facts(outputs, config) -> (BasicFacts, warnings)``, ``parse_interfaces(outputs, config)``,
``scrub(config) -> str`` and ``audit(config, outputs) -> ConfigAudit``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from inventory.netdevice import PLATFORMS


def platform_module(platform: str) -> ModuleType:
    if platform not in PLATFORMS:
        raise ValueError(f"unknown platform {platform!r}; expected one of {', '.join(PLATFORMS)} or auto")
    return importlib.import_module(f"{__name__}.{platform}")
