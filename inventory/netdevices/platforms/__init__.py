"""One module per platform, each exposing the same names (psutil's way), typed by ``PlatformModule``:

``PLATFORM``, ``VENDOR``, ``FACT_COMMANDS``, ``config_command(facts)``, ``is_read_only(command)``,
``parse_facts(outputs, config) -> (BasicFacts, warnings)``, ``parse_interfaces(outputs, config)``,
``scrub(config) -> str`` and ``audit(config, outputs) -> ConfigAudit`` (a list of small rules,
``AUDIT_RULES``, see ``inventory.netdevices.audit``). A new platform: its module here, its name in
``inventory.netdevices.facts.Platform`` and a line in ``_MODULES`` (the type checker holds the module to
the protocol).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from inventory.netdevices.contract import BasicFacts
from inventory.netdevices.facts import PLATFORMS, ConfigAudit, DeviceInterface, Platform
from inventory.netdevices.platforms import cisco_ios, huawei_vrp, juniper_junos, mikrotik_routeros


class PlatformModule(Protocol):
    @property
    def PLATFORM(self) -> str: ...
    @property
    def VENDOR(self) -> str: ...
    @property
    def FACT_COMMANDS(self) -> Sequence[str]: ...

    def config_command(self, facts: BasicFacts) -> str: ...
    def is_read_only(self, command: str) -> bool: ...
    def parse_facts(
        self, outputs: Mapping[str, str], config: str | None = None
    ) -> tuple[BasicFacts, list[str]]: ...
    def parse_interfaces(
        self, outputs: Mapping[str, str], config: str | None = None
    ) -> list[DeviceInterface]: ...
    def scrub(self, config: str) -> str: ...
    def audit(self, config: str, outputs: Mapping[str, str] | None = None) -> ConfigAudit: ...


_MODULES: dict[Platform, PlatformModule] = {
    "cisco_ios": cisco_ios,
    "huawei_vrp": huawei_vrp,
    "mikrotik_routeros": mikrotik_routeros,
    "juniper_junos": juniper_junos,
}


def platform_module(platform: str) -> PlatformModule:
    for name in PLATFORMS:
        if name == platform:
            return _MODULES[name]
    raise ValueError(f"unknown platform {platform!r}; expected one of {', '.join(PLATFORMS)} or auto")
