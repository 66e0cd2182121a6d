"""``wardwatch backup`` and ``wardwatch restore``: the database, keys and photos in one encrypted file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from collector.cli import DEFAULT_DATA_DIR, DatabaseUrl, app, resolve_database_url
from collector.i18n import cli_gettext as _
from collector.i18n import process_language
from collector.plugins import CommandSpec
from collector.services.errors import ServiceError

PASSPHRASE_ENV = "WARDWATCH_BACKUP_PASSPHRASE"
DataDir = Annotated[Path, typer.Option("--data-dir", envvar="WARDWATCH_DATA_DIR", help="Keys and photos.")]
PassphraseFile = Annotated[
    Path | None,
    typer.Option(
        "--passphrase-file", help=f"Read the passphrase from this file (else {PASSPHRASE_ENV}, else ask)."
    ),
]


def _passphrase(path: Path | None, *, confirm: bool) -> str:
    if path is not None:
        try:
            return path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise _fail(_("cannot read %(file)s: %(error)s", file=path, error=exc.strerror)) from None
    if os.environ.get(PASSPHRASE_ENV):
        return os.environ[PASSPHRASE_ENV]
    return str(typer.prompt("Backup passphrase", hide_input=True, confirmation_prompt=confirm))


def _fail(message: object) -> typer.Exit:
    """Print the error in the process language: a ServiceError carries a msgid, other errors are data."""
    shown = message.text(process_language()) if isinstance(message, ServiceError) else str(message)
    typer.echo(_("error: %(message)s", message=shown), err=True)
    return typer.Exit(code=2)


@app.command("backup")
def backup_command(
    output: Annotated[Path, typer.Option("--output", help="The encrypted backup file to write.")],
    database_url: DatabaseUrl = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    passphrase_file: PassphraseFile = None,
) -> None:
    """Back up the database (online: the collector may keep running), keys and photos, encrypted."""
    from collector.backup import BackupError, backup

    url = resolve_database_url(database_url, data_dir)
    os.umask(0o077)
    try:
        manifest = backup(
            database_url=url,
            data_dir=data_dir,
            output=output,
            passphrase=_passphrase(passphrase_file, confirm=True),
        )
    except BackupError as exc:
        raise _fail(exc) from None
    typer.echo(
        _(
            "backup written to %(file)s: %(backend)s database and %(n)s file(s) (keys, photos); "
            "keep the passphrase apart from the file",
            file=output,
            backend=manifest.backend,
            n=len(manifest.files),
        )
    )


@app.command("restore")
def restore_command(
    file: Annotated[Path, typer.Argument(help="A file written by `wardwatch backup`.")],
    database_url: DatabaseUrl = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    passphrase_file: PassphraseFile = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace an existing database and keys (stop the collector first)."),
    ] = False,
) -> None:
    """Restore a backup into DATABASE_URL and DATA_DIR, then apply any newer migrations."""
    from sqlalchemy.exc import DBAPIError

    from collector.backup import BackupError, restore
    from collector.db import error_reason
    from collector.migrate import upgrade

    os.umask(0o077)
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    url = resolve_database_url(database_url, data_dir)
    try:
        manifest = restore(
            backup_file=file,
            database_url=url,
            data_dir=data_dir,
            passphrase=_passphrase(passphrase_file, confirm=False),
            force=force,
        )
        upgrade(url)
    except BackupError as exc:
        raise _fail(exc) from None
    except DBAPIError as exc:
        raise _fail(
            _(
                "the restored database cannot be upgraded: %(error)s",
                error=error_reason(exc),
            )
        ) from None
    typer.echo(
        _(
            "restored the backup of %(created)s: database and %(n)s file(s)",
            created=manifest.created_at,
            n=len(manifest.files),
        )
    )


PLUGIN = CommandSpec(commands=("backup", "restore"))
