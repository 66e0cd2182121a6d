"""``wardwatch agent ...``: the agent's commands.

Each command imports its implementation inside the function, so that ``wardwatch agent status``
does not pay for scapy, paramiko or pyHanko. Capabilities' commands (``scan``, ``poll``, ``certs``)
come from their declarations in ``agent.capabilities``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from agent.capabilities import CAPABILITIES
from agent.cli_options import ConfigFile, StateDir

app = typer.Typer(help="Commands that run on a commune PC.", no_args_is_help=True)


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


# Each capability brings its own command (agent/capabilities.py).
for _capability in CAPABILITIES:
    app.command(_capability.command_name)(_capability.command)
    for _alias in _capability.command_aliases:  # old names, kept working and out of --help
        app.command(_alias, hidden=True)(_capability.command)
