"""The four drivers: one platform module (commands, parsers) on one transport (netmiko or exec)."""

from __future__ import annotations

from typing import ClassVar

from inventory.netdevices.contract import (
    BasicFacts,
    DeviceDriver,
    DeviceTarget,
    ForbiddenCommand,
    Timeouts,
)
from inventory.netdevices.facts import DeviceInterface
from inventory.netdevices.hostkeys import KnownHosts
from inventory.netdevices.platforms import PlatformModule, mikrotik_routeros, platform_module
from inventory.netdevices.transport import ExecTransport, NetmikoTransport, Transport


class _Driver(DeviceDriver):
    module: ClassVar[PlatformModule]

    def __init__(
        self,
        target: DeviceTarget,
        password: str,
        *,
        known_hosts: KnownHosts,
        timeouts: Timeouts | None = None,
    ) -> None:
        self.target = target
        self.timeouts = timeouts or Timeouts()
        self._outputs: dict[str, str] = {}
        self._warnings: list[str] = []
        self._facts: BasicFacts | None = None
        self._config: str | None = None
        self.transport = self._transport(target, password, known_hosts)

    def _transport(self, target: DeviceTarget, password: str, known_hosts: KnownHosts) -> Transport:
        raise NotImplementedError

    # -- contract --------------------------------------------------------------------------------

    def open(self) -> None:
        self.transport.open()

    def close(self) -> None:
        self.transport.close()

    def run(self, command: str) -> str:
        if not self.module.is_read_only(command):
            raise ForbiddenCommand(
                f"{command!r} is not a read-only {self.platform} command; not sent", command=command
            )
        out = self.transport.run(command)
        self._outputs[command] = out
        return out

    def get_facts(self) -> BasicFacts:
        for command in self.module.FACT_COMMANDS:
            if command not in self._outputs:
                self.run(command)
        facts, warnings = self.module.parse_facts(self._outputs, self._config)
        self._warnings.extend(w for w in warnings if w not in self._warnings)
        self._facts = facts
        return facts

    def get_interfaces(self) -> list[DeviceInterface]:
        if self._facts is None:
            self.get_facts()
        return self.module.parse_interfaces(self._outputs, self._config)

    def get_config(self) -> str:
        facts = self._facts or BasicFacts()
        command = self.module.config_command(facts)
        self._config = self.run(command)
        if self._facts is not None:  # facts read from the configuration (VRP sysname, Junos host-name)
            self._facts, _ = self.module.parse_facts(self._outputs, self._config)
        return self._config

    @property
    def outputs(self) -> dict[str, str]:
        return dict(self._outputs)

    @property
    def host_key_fingerprint(self) -> str | None:
        return self.transport.fingerprint

    @property
    def ssh_banner(self) -> str | None:
        return self.transport.banner

    @property
    def parse_warnings(self) -> list[str]:
        return list(self._warnings)

    @property
    def facts(self) -> BasicFacts | None:
        return self._facts


class CiscoIosDriver(_Driver):
    platform = "cisco_ios"
    vendor = "Cisco"
    module = platform_module("cisco_ios")

    def _transport(self, target: DeviceTarget, password: str, known_hosts: KnownHosts) -> Transport:
        return NetmikoTransport(
            target, password, self.timeouts, known_hosts, target.username, device_type="cisco_ios"
        )


class HuaweiVrpDriver(_Driver):
    platform = "huawei_vrp"
    vendor = "Huawei"
    module = platform_module("huawei_vrp")

    def _transport(self, target: DeviceTarget, password: str, known_hosts: KnownHosts) -> Transport:
        return NetmikoTransport(
            target, password, self.timeouts, known_hosts, target.username, device_type="huawei"
        )


class MikrotikRouterosDriver(_Driver):
    platform = "mikrotik_routeros"
    vendor = "MikroTik"
    module = platform_module("mikrotik_routeros")

    def _transport(self, target: DeviceTarget, password: str, known_hosts: KnownHosts) -> Transport:
        # RouterOS reads terminal options from a suffix of the login name ("admin+ct511w").
        username = (
            target.username if "+" in target.username else target.username + mikrotik_routeros.LOGIN_SUFFIX
        )
        return ExecTransport(target, password, self.timeouts, known_hosts, username)


class JuniperJunosDriver(_Driver):
    platform = "juniper_junos"
    vendor = "Juniper"
    module = platform_module("juniper_junos")

    def _transport(self, target: DeviceTarget, password: str, known_hosts: KnownHosts) -> Transport:
        return ExecTransport(target, password, self.timeouts, known_hosts, target.username)


DRIVERS: dict[str, type[_Driver]] = {
    d.platform: d for d in (CiscoIosDriver, HuaweiVrpDriver, MikrotikRouterosDriver, JuniperJunosDriver)
}


def driver_class(platform: str) -> type[_Driver]:
    try:
        return DRIVERS[platform]
    except KeyError:
        raise ValueError(f"no driver for platform {platform!r}; known: {', '.join(DRIVERS)}") from None
