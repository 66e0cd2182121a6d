"""``wardwatch signing-cert``: the organisation's certificate that signs published PDFs (PAdES)."""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Annotated

import typer

from collector.cli import DEFAULT_DATA_DIR, DatabaseUrl, app, resolve_database_url
from collector.i18n import cli_gettext as _
from collector.plugins import CommandSpec

signing_app = typer.Typer(help="The certificate that signs published PDFs (PAdES).", no_args_is_help=True)
app.add_typer(signing_app, name="signing-cert")

DataDir = Annotated[
    Path, typer.Option("--data-dir", envvar="WARDWATCH_DATA_DIR", help="Where the collector's keys are.")
]


@signing_app.command("set")
def signing_set(
    p12: Annotated[
        Path | None, typer.Option("--p12", help="A PKCS#12 (.p12/.pfx) file: key and certificate.")
    ] = None,
    pkcs11_module: Annotated[
        str | None, typer.Option("--pkcs11-module", help="The token's PKCS#11 library (.so/.dll).")
    ] = None,
    token_label: Annotated[str | None, typer.Option("--token-label", help="The token's label.")] = None,
    key_label: Annotated[
        str | None, typer.Option("--key-label", help="The label of the key and its certificate on the token.")
    ] = None,
    trust: Annotated[
        list[Path] | None,
        typer.Option("--trust", help="A root (PEM) to trust beside the shipped Vietnamese roots (repeat)."),
    ] = None,
    tsa_url: Annotated[
        str | None, typer.Option("--tsa-url", help="RFC 3161 timestamp server: signatures become B-T/B-LT.")
    ] = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
) -> None:
    """Sign published PDFs with this certificate from now on. The PKCS#12 password comes from
    WARDWATCH_P12_PASSWORD (else it is asked for), a token's PIN from WARDWATCH_PKCS11_PIN (else asked)."""
    from collector.commands.admin import _fail, _session
    from collector.services import signing_cert as svc
    from collector.services.errors import ServiceError

    if (p12 is None) == (pkcs11_module is None):
        raise _fail(_("give either --p12 FILE or --pkcs11-module LIB --token-label L --key-label K"))
    if pkcs11_module is not None and not (token_label and key_label):
        raise _fail(_("--pkcs11-module needs --token-label and --key-label"))
    url = resolve_database_url(database_url, data_dir)
    try:
        if p12 is not None:
            try:
                data = p12.read_bytes()
            except OSError as exc:
                raise _fail(
                    _("cannot read %(file)s: %(error)s", file=p12, error=exc.strerror or exc)
                ) from None
            password = os.environ.get(svc.P12_PASSWORD_ENV)
            if password is None:
                password = getpass.getpass("PKCS#12 password: ")
            with _session(url) as session:
                row = svc.set_p12(
                    session,
                    data=data,
                    password=password,
                    data_dir=data_dir,
                    actor="cli",
                    trust=trust or [],
                    tsa_url=tsa_url,
                )
                shown = svc.describe(row)
                validation = svc.validate(row)
        else:
            assert pkcs11_module and token_label and key_label
            pin = os.environ.get(svc.PIN_ENV) or getpass.getpass("Token PIN: ")
            with _session(url) as session:
                row = svc.set_pkcs11(
                    session,
                    module=pkcs11_module,
                    token_label=token_label,
                    key_label=key_label,
                    pin=pin,
                    data_dir=data_dir,
                    actor="cli",
                    trust=trust or [],
                    tsa_url=tsa_url,
                )
                shown = svc.describe(row)
                validation = svc.validate(row)
    except ServiceError as exc:
        raise _fail(exc) from None
    typer.echo(
        _(
            "signing certificate set: %(name)s (serial %(serial)s)",
            name=shown["common_name"],
            serial=shown["serial"],
        )
    )
    _print_status(validation)


def _print_status(validation: object) -> None:
    from collector.services.signing_cert import REFUSED

    status = getattr(validation, "status")  # noqa: B009
    reasons = "; ".join(getattr(validation, "reasons")) or ""  # noqa: B009
    if status in REFUSED:
        typer.echo(
            _(
                "warning: publishing will refuse this certificate (%(status)s): %(reasons)s",
                status=status.value,
                reasons=reasons,
            ),
            err=True,
        )
    elif reasons:
        typer.echo(f"status: {status.value} ({reasons})")
    else:
        typer.echo(f"status: {status.value}")


@signing_app.command("show")
def signing_show(data_dir: DataDir = DEFAULT_DATA_DIR, database_url: DatabaseUrl = None) -> None:
    """The certificate that signs published PDFs, and whether it may sign today."""
    from collector.commands.admin import _fail, _session
    from collector.services import signing_cert as svc
    from collector.services.errors import ServiceError

    try:
        with _session(resolve_database_url(database_url, data_dir)) as session:
            row = svc.current(session)
            if row is None:
                raise _fail(
                    _("no signing certificate is configured: run `wardwatch signing-cert set --p12 FILE`")
                )
            shown = svc.describe(row)
            validation = svc.validate(row)
    except ServiceError as exc:
        raise _fail(exc) from None
    labels = {
        "kind": "kind",
        "common_name": "name",
        "subject": "subject",
        "issuer": "issuer",
        "serial": "serial",
        "fingerprint": "SHA-256",
        "not_before": "valid from",
        "not_after": "valid until",
        "pkcs11_module": "PKCS#11 module",
        "token_label": "token",
        "key_label": "key",
        "tsa_url": "timestamp server",
        "operator_roots": "operator's roots",
        "set_at": "set at",
        "set_by": "set by",
    }
    for key, label in labels.items():
        value = shown[key]
        if value in (None, [], ""):
            continue
        if isinstance(value, list):
            value = ", ".join(value)
        typer.echo(f"{label}: {value}")
    _print_status(validation)


PLUGIN = CommandSpec(commands=("signing-cert",))
