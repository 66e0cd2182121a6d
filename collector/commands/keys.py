"""``wardwatch keys``: list and rotate the collector's keys (publishing, device passwords)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from collector.cli import DEFAULT_DATA_DIR, DatabaseUrl, app, resolve_database_url
from collector.i18n import cli_gettext as _
from collector.plugins import CommandSpec

keys_app = typer.Typer(help="The collector's keys: list and rotate.", no_args_is_help=True)
rotate_app = typer.Typer(help="Rotate a key.", no_args_is_help=True)
keys_app.add_typer(rotate_app, name="rotate")
app.add_typer(keys_app, name="keys")

DataDir = Annotated[Path, typer.Option("--data-dir", envvar="WARDWATCH_DATA_DIR", help="Where the keys are.")]


@keys_app.command("list")
def keys_list(data_dir: DataDir = DEFAULT_DATA_DIR) -> None:
    """The publishing keys (current and retired) by key id."""
    from collector.signing import load_or_create, public_keys

    current = load_or_create(data_dir).key_id
    for kid in public_keys(data_dir):
        typer.echo(
            _("publishing %(kid)s current", kid=kid)
            if kid == current
            else _("publishing %(kid)s retired (verifies old reports)", kid=kid)
        )


@rotate_app.command("publishing")
def rotate_publishing(data_dir: DataDir = DEFAULT_DATA_DIR) -> None:
    """Sign new publications with a new key; the old public key stays published for old reports."""
    from collector.signing import rotate

    old, new = rotate(data_dir)
    typer.echo(
        _(
            "publishing key rotated: %(old)s retired (still published), %(new)s signs from now on",
            old=old,
            new=new.key_id,
        )
    )


@rotate_app.command("device-passwords")
def rotate_device_passwords(data_dir: DataDir = DEFAULT_DATA_DIR, database_url: DatabaseUrl = None) -> None:
    """A new key for the stored network device passwords (and the signing certificate's key or PIN);
    every secret is re-encrypted with it."""
    from collector.commands.admin import _fail, _session
    from collector.services.errors import ServiceError
    from collector.services.netdevices import drop_old_keys, rotate_key
    from collector.services.signing_cert import reencrypt

    url = resolve_database_url(database_url, data_dir)
    try:
        with _session(url) as session:
            count = rotate_key(session, data_dir=data_dir, actor="cli")
            reencrypt(session, data_dir=data_dir)  # the key file holds the new and the old key here
    except ServiceError as exc:
        raise _fail(exc) from None
    drop_old_keys(data_dir)
    typer.echo(_("device-password key rotated; %(n)s stored password(s) re-encrypted", n=count))


PLUGIN = CommandSpec(commands=("keys",))
