"""The LAN scan capability: hosts, unknown devices, rogue DHCP, ARP spoofing, risky services ([lan])."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Annotated

import typer

from agent.capability import Capability
from agent.cli_options import ConfigFile, StateDir

if TYPE_CHECKING:
    from agent.config import AgentSettings
    from agent.lan.config import LanConfig
    from inventory.facts import Facts

log = logging.getLogger(__name__)

# Without [lan] interval_seconds the agent never scans on its own (only `wardwatch agent scan`).
UNSCHEDULED = 86400.0


def _config() -> type[LanConfig]:
    from agent.lan.config import LanConfig

    return LanConfig


def _interval(settings: AgentSettings) -> float:
    return float(LAN.config_of(settings).interval_seconds or UNSCHEDULED)


def _enabled(settings: AgentSettings) -> bool:
    return bool(LAN.config_of(settings).interval_seconds)


def _host_facts(settings: AgentSettings, facts: Facts, run_now: bool, problems: list[str]) -> bool:
    """The last saved scan (from the schedule or `wardwatch agent scan`) rides every host report;
    when the schedule is due and the last scan is older than the interval, scan first. A scan that
    fails is told, and the last saved one still goes out."""
    from agent.lan.runner import run_scan, scan_due
    from agent.lan.store import latest_scan

    config = LAN.config_of(settings)
    if run_now and config.interval_seconds and scan_due(config, settings.state_dir):
        try:
            run_scan(config, settings.state_dir)
        except Exception as exc:
            log.warning("LAN scan failed: %s", exc)
            problems.append(f"LAN scan: {type(exc).__name__}: {exc}"[:300])
    facts.network_scan = latest_scan(settings.state_dir)
    return facts.network_scan is not None


def scan(
    interface: Annotated[
        str | None,
        typer.Option("--interface", help="Scan this interface's subnet (default: the default route's)."),
    ] = None,
    cidr: Annotated[
        str | None,
        typer.Option("--cidr", help="Scan this private CIDR instead (at most /22 unless configured)."),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the scan result as JSON.")] = False,
    state_dir: StateDir = None,
    config: ConfigFile = None,
) -> None:
    """Scan the LAN: hosts, unknown devices, rogue DHCP, ARP spoofing, risky services.

    The result is saved in the state directory and goes into the next report.
    """
    from agent.lan.command import scan_command

    scan_command(interface=interface, cidr=cidr, json_out=json_out, state_dir=state_dir, config_path=config)


LAN: Capability[LanConfig] = Capability(
    name="lan",
    section="lan",
    config=_config,
    interval=_interval,
    enabled=_enabled,
    command_name="scan",
    command=scan,
    host_facts=_host_facts,
)
