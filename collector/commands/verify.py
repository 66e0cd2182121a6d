"""``wardwatch verify``: check that a downloaded published report was issued by the city, unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from collector.cli import app


@app.command()
def verify(
    file: Annotated[Path, typer.Argument(help="The downloaded report (JSON or PDF).")],
    signature: Annotated[Path | None, typer.Option("--signature", help="Default: FILE.sig")] = None,
    public_key: Annotated[
        Path | None,
        typer.Option(
            "--public-key",
            help="The collector's public key(s) (PEM), from /.well-known/wardwatch-publishing-keys.pem "
            "(every key it ever used) or /.well-known/wardwatch-publishing-key.pem (the current one); "
            "default: wardwatch-publishing-keys.pem, else wardwatch-publishing-key.pem, beside FILE",
        ),
    ] = None,
) -> None:
    """Verify FILE against its detached Ed25519 signature; exit 0 when valid, 1 when not."""
    from collector.signing import VerifyError, verify_with

    signature = signature or file.with_name(file.name + ".sig")
    if public_key is None:
        keyring = file.with_name("wardwatch-publishing-keys.pem")
        public_key = keyring if keyring.exists() else file.with_name("wardwatch-publishing-key.pem")
    try:
        data = file.read_bytes()
        key_id = verify_with(data, signature.read_bytes(), public_key.read_bytes())
    except OSError as exc:
        typer.echo(f"INVALID: cannot read {exc.filename}: {exc.strerror}", err=True)
        raise typer.Exit(1) from None
    except VerifyError as exc:
        typer.echo(f"INVALID: {file}: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"OK: {file} is signed by key {key_id} in {public_key} and unchanged")
