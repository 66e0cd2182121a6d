"""Devices: ``wardwatch device move DEVICE --site CODE``."""

from __future__ import annotations

from typing import Annotated

import typer

from collector.cli import DatabaseUrl, app, resolve_database_url
from collector.commands.admin import _fail, _session
from collector.i18n import cli_gettext as _
from collector.plugins import CommandSpec

device_app = typer.Typer(help="Devices (PCs and network devices).", no_args_is_help=True)
app.add_typer(device_app, name="device")


@device_app.command("move")
def device_move(
    device: Annotated[str, typer.Argument(help="Device id, or its hostname when that is unique")],
    site: Annotated[str, typer.Option("--site", help="Code of the site to move it to")],
    reason: Annotated[str | None, typer.Option("--reason", help="Why (kept in the audit log)")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Move a device, its history and findings, and the agent on that PC, to another site."""
    from collector.services.console import site_of
    from collector.services.devices import find_device
    from collector.services.errors import ServiceError
    from collector.services.moves import move_device
    from collector.services.sites import get_site_by_code

    try:
        with _session(resolve_database_url(database_url)) as session:
            found = find_device(session, device)
            from_code = site_of(session, found.site_id).code
            done = move_device(
                session,
                device=found,
                to_site=get_site_by_code(session, site),
                actor="cli",
                reason=reason or "moved with `wardwatch device move`",
            )
            name = found.hostname
    except ServiceError as exc:
        raise _fail(exc) from None
    agents = f" with its agent {', '.join(done.agents)}" if done.agents else ""
    typer.echo(
        _(
            "device %(name)s moved from site %(from_site)s to site %(to_site)s%(agents)s",
            name=name,
            from_site=from_code,
            to_site=done.to_site,
            agents=agents,
        )
    )


PLUGIN = CommandSpec(commands=("device",))
