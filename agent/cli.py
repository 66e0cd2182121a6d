"""``wardwatch agent ...``: the agent's commands.

Each command imports its implementation inside the function, so that ``wardwatch agent status``
does not pay for scapy, paramiko or pyHanko.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Commands that run on a commune PC.", no_args_is_help=True)

StateDir = Annotated[
    Path | None,
    typer.Option("--state-dir", envvar="WARDWATCH_AGENT_STATE_DIR", help="Agent state: key and spool."),
]
ConfigFile = Annotated[
    Path | None,
    typer.Option("--config", envvar="WARDWATCH_AGENT_CONFIG", help="Agent configuration file (TOML)."),
]


@app.command()
def collect(
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    state_dir: StateDir = None,
    config: ConfigFile = None,
) -> None:
    """Collect one report (inventory and check results) and print it; no collector needed."""
    from agent.commands import collect_command

    collect_command(json_out=json_out, config_path=config, state_dir=state_dir)


@app.command()
def enroll(
    collector: Annotated[str, typer.Option("--collector", help="Collector URL, e.g. https://ww.city.vn")],
    secret: Annotated[str, typer.Option("--secret", envvar="WARDWATCH_ENROLL_SECRET", help="Enroll secret")],
    state_dir: StateDir = None,
    config: ConfigFile = None,
) -> None:
    """Enroll this PC with a collector and keep the agent key in the state directory."""
    from agent.commands import enroll_command

    enroll_command(collector_url=collector, secret=secret, state_dir=state_dir, config_path=config)


@app.command("rotate-key")
def rotate_key(state_dir: StateDir = None, config: ConfigFile = None) -> None:
    """Get a new agent key from the collector; the old key stops working once the new one is used."""
    from agent.commands import rotate_key_command

    rotate_key_command(state_dir=state_dir, config_path=config)


@app.command()
def run(
    once: Annotated[bool, typer.Option("--once", help="One cycle, deliver, then exit.")] = False,
    state_dir: StateDir = None,
    config: ConfigFile = None,
) -> None:
    """Run the agent: collect on schedule, spool, deliver."""
    from agent.commands import run_command

    run_command(once=once, state_dir=state_dir, config_path=config)


@app.command()
def status(
    state_dir: StateDir = None,
    config: ConfigFile = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
) -> None:
    """Spool depth, oldest item, last success and last error."""
    from agent.commands import status_command

    status_command(state_dir=state_dir, config_path=config, json_out=json_out)


@app.command()
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


@app.command()
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
    from agent.devices.command import poll_command

    poll_command(devices_file=devices, json_out=json_out, state_dir=state_dir, config_path=config)


@app.command()
def certs(
    targets: Annotated[
        list[str], typer.Argument(help="Certificate file, folder, signed document, host:port or https URL.")
    ],
    trust: Annotated[
        list[Path] | None, typer.Option("--trust", help="Extra trust anchor (PEM); may be repeated.")
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="One JSON entry per certificate or signature.")
    ] = False,
    legacy_sha1: Annotated[
        bool, typer.Option("--legacy-sha1", help="Accept SHA-1 signatures (still reported).")
    ] = False,
    expiring_days: Annotated[
        int | None,
        typer.Option(
            "--expiring-days",
            min=0,
            max=3650,
            help="'expiring' this many days before the end (default: [certs] expiring_days, 30).",
        ),
    ] = None,
    config: ConfigFile = None,
) -> None:
    """Check certificates, TLS services and signed documents: verdict and reasons for each."""
    from agent.certs.command import certs_command

    if expiring_days is None:
        expiring_days = _configured_expiring_days(config)
    raise typer.Exit(
        certs_command(
            targets,
            trust=trust or [],
            json_out=json_out,
            legacy_sha1=legacy_sha1,
            expiring_days=expiring_days,
        )
    )


def _configured_expiring_days(config: Path | None) -> int | None:
    """``[certs] expiring_days`` of the agent's configuration, when there is one and it is readable."""
    from agent.config import ConfigError, load_settings

    try:
        return load_settings(config).certs.expiring_days
    except (ConfigError, FileNotFoundError, OSError):
        return None
