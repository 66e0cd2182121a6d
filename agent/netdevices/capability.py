"""The network devices capability: routers and switches polled over SSH ([netdevices])."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from agent.capability import Capability
from agent.cli_options import ConfigFile, StateDir

if TYPE_CHECKING:
    from agent.config import AgentSettings
    from agent.netdevices.config import NetDevicesConfig
    from inventory.report import Report


def _config() -> type[NetDevicesConfig]:
    from agent.netdevices.config import NetDevicesConfig

    return NetDevicesConfig


def _interval(settings: AgentSettings) -> float:
    # [netdevices] interval_seconds, when set, wins over [intervals] devices.
    return float(NETDEVICES.config_of(settings).interval_seconds or settings.intervals.devices)


def _enabled(settings: AgentSettings) -> bool:
    # Only a device list can be polled; without one the worker would just report "no device list".
    return NETDEVICES.config_of(settings).devices_file is not None


def _reports(settings: AgentSettings) -> list[Report]:
    if not _enabled(settings):
        return []
    from agent.netdevices.poller import poll_devices

    return poll_devices(settings)


def poll(
    devices: Annotated[
        Path | None, typer.Option("--devices", help="Device list (TOML [[devices]]); default: the config's.")
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print every device's report (facts, results) as JSON.")
    ] = False,
    state_dir: StateDir = None,
    config: ConfigFile = None,
) -> None:
    """Poll the network devices over SSH: inventory, configuration backup and configuration checks.

    Exit code 1 when a device could not be reached or logged into.
    """
    from agent.netdevices.command import poll_command

    poll_command(devices_file=devices, json_out=json_out, state_dir=state_dir, config_path=config)


NETDEVICES: Capability[NetDevicesConfig] = Capability(
    # The module name travels in reports ("modules") and names the checks' module, the schedule and
    # [intervals] devices: it stays "devices". The table was renamed; [devices] is still read.
    name="devices",
    section="netdevices",
    section_aliases=("devices",),
    config=_config,
    interval=_interval,
    enabled=_enabled,
    command_name="poll",
    command=poll,
    reports=_reports,
)
