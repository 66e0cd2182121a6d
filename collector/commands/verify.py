"""``wardwatch verify``: check that a downloaded published report was issued by the city, unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from collector.cli import app
from collector.i18n import cli_gettext as _
from collector.plugins import CommandSpec


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
    trust: Annotated[
        list[Path] | None,
        typer.Option(
            "--trust", help="A root (PEM) to trust for the PDF signature, beside the Vietnamese roots."
        ),
    ] = None,
) -> None:
    """Verify FILE against its detached Ed25519 signature, and a PDF's own (PAdES) signature too;
    exit 0 when valid, 1 when not."""
    from collector.signing import VerifyError, verify_with

    signature = signature or file.with_name(file.name + ".sig")
    if public_key is None:
        keyring = file.with_name("wardwatch-publishing-keys.pem")
        public_key = keyring if keyring.exists() else file.with_name("wardwatch-publishing-key.pem")
    try:
        data = file.read_bytes()
        key_id = verify_with(data, signature.read_bytes(), public_key.read_bytes())
    except OSError as exc:
        typer.echo(
            _("INVALID: cannot read %(file)s: %(error)s", file=exc.filename, error=exc.strerror), err=True
        )
        raise typer.Exit(1) from None
    except VerifyError as exc:
        typer.echo(f"INVALID: {file}: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        _(
            "OK: %(file)s is signed by key %(key)s in %(keyfile)s and unchanged",
            file=file,
            key=key_id,
            keyfile=public_key,
        )
    )
    if file.suffix.lower() == ".pdf" and not _report_pdf_signature(file, trust or []):
        raise typer.Exit(1)


def _report_pdf_signature(file: Path, trust: list[Path]) -> bool:
    """Print the PDF's embedded signatures (signer, time, level, integrity, trust); False when one is
    broken or there is none."""
    from agent.certificates.trust import load_trust
    from collector.pdfsign import read_signatures

    roots = load_trust(trust)
    for error in roots.errors:
        typer.echo(_("warning: %(problem)s", problem=error), err=True)
    try:
        found = read_signatures(file.read_bytes(), trust_roots=roots.anchors, other_certs=roots.intermediates)
    except Exception as exc:  # a damaged PDF: say so rather than print a traceback
        typer.echo(
            _(
                "INVALID: %(file)s: cannot read its PDF signature: %(error)s",
                file=file,
                error=f"{type(exc).__name__} {exc}",
            ),
            err=True,
        )
        return False
    if not found:
        typer.echo(_("INVALID: %(file)s carries no PDF signature", file=file), err=True)
        return False
    ok = True
    for sig in found:
        when = f"{sig.signed_at:%Y-%m-%d %H:%M:%S %Z}" if sig.signed_at else _("unknown time")
        trust_text = _("trusted") if sig.trusted else _("signer not trusted (add its root with --trust)")
        stamp = (
            _(", timestamp %(time)s", time=f"{sig.timestamp:%Y-%m-%d %H:%M:%S %Z}") if sig.timestamp else ""
        )
        if sig.intact and sig.covers_whole_file:
            typer.echo(
                _(
                    "PDF signature: %(signer)s, signed %(when)s, PAdES %(level)s%(stamp)s, intact, %(trust)s",
                    signer=sig.signer,
                    when=when,
                    level=sig.level,
                    stamp=stamp,
                    trust=trust_text,
                )
            )
        else:
            ok = False
            typer.echo(
                _("INVALID: PDF signature of %(signer)s: the signed bytes were changed", signer=sig.signer)
                if not sig.intact
                else _(
                    "INVALID: PDF signature of %(signer)s: the file was changed after signing",
                    signer=sig.signer,
                ),
                err=True,
            )
    return ok


PLUGIN = CommandSpec(commands=("verify",))
