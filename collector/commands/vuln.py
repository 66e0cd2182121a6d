"""``wardwatch vuln update --from PATH [--online]`` and ``wardwatch vuln unmapped``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from collector.cli import DatabaseUrl, app, resolve_database_url
from collector.i18n import cli_gettext as _
from collector.i18n import process_language
from collector.plugins import CommandSpec
from collector.services.errors import ServiceError

vuln_app = typer.Typer(help="Known vulnerabilities: NVD and CISA KEV data.", no_args_is_help=True)
app.add_typer(vuln_app, name="vuln")

NVD_NOTICE = "This product uses data from the NVD API but is not endorsed or certified by the NVD."


def _fail(message: object) -> typer.Exit:
    """Print the error in the process language: a ServiceError carries a msgid, other errors are data."""
    shown = message.text(process_language()) if isinstance(message, ServiceError) else str(message)
    typer.echo(_("error: %(message)s", message=shown), err=True)
    return typer.Exit(code=2)


@vuln_app.command("update")
def update(
    from_path: Annotated[
        list[Path] | None,
        typer.Option(
            "--from", help="An NVD CVE JSON file, API page or feed, a KEV catalog, or a folder of them."
        ),
    ] = None,
    online: Annotated[bool, typer.Option("--online", help="Fetch KEV and NVD from their endpoints.")] = False,
    api_key: Annotated[
        str | None, typer.Option("--api-key", envvar="WARDWATCH_NVD_API_KEY", help="NVD API key (optional).")
    ] = None,
    nvd_url: Annotated[str | None, typer.Option("--nvd-url", envvar="WARDWATCH_NVD_URL")] = None,
    kev_url: Annotated[str | None, typer.Option("--kev-url", envvar="WARDWATCH_KEV_URL")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Import vulnerability data, then re-evaluate every device against it."""
    from collector.db import make_engine, session_scope
    from collector.services import vuln_data, vulns
    from collector.services.errors import ServiceError
    from collector.settings import CollectorSettings

    if not from_path and not online:
        raise _fail(_("give --from PATH (files or a folder) or --online"))
    url = resolve_database_url(database_url)
    settings = CollectorSettings(database_url=url)
    engine = make_engine(url)
    try:
        if from_path:
            try:
                with session_scope(engine) as session:
                    s = vuln_data.import_paths(session, paths=from_path)
            except ServiceError as exc:
                raise _fail(
                    _("%(error)s (nothing was imported)", error=exc.text(process_language()))
                ) from None
            typer.echo(
                _(
                    "imported %(files)s files: %(nvd)s NVD records (%(nvd_changed)s new or changed), "
                    "%(kev)s KEV entries (%(kev_changed)s new or changed)",
                    files=s.files,
                    nvd=s.nvd_records,
                    nvd_changed=s.nvd_changed,
                    kev=s.kev_entries,
                    kev_changed=s.kev_changed,
                )
            )
        if online:
            _online(engine, api_key=api_key, nvd_url=nvd_url, kev_url=kev_url)
        with session_scope(engine) as session:
            done = vulns.evaluate_devices(session, due_days=settings.due_days)
            status = vuln_data.data_status(session)
        evaluated = [e for e in done if e.evaluated]
        typer.echo(
            _(
                "re-evaluated %(n)s of %(total)s devices; %(kev)s programs with known exploited vulnerabilities",  # noqa: E501
                n=len(evaluated),
                total=len(done),
                kev=sum(e.kev_products for e in evaluated),
            )
        )
        for st in status:
            age = (
                _("no data")
                if st.data_date is None
                else _(
                    "data of %(date)s (%(days)s days old)", date=f"{st.data_date:%Y-%m-%d}", days=st.age_days
                )
            )
            stale = _(" — older than 14 days") if st.stale else ""
            typer.echo(f"{st.name}: {age}{stale}")
        typer.echo(NVD_NOTICE)
    finally:
        engine.dispose()


def _online(engine: object, *, api_key: str | None, nvd_url: str | None, kev_url: str | None) -> None:
    import httpx

    from collector.services import vuln_data
    from collector.services.errors import ServiceError
    from collector.vulns.fetch import KEV_URL, NVD_URL, Fetcher, FetchError, RateLimiter

    window = float(os.environ.get("WARDWATCH_NVD_RATE_WINDOW", "30"))
    with httpx.Client(timeout=60.0, follow_redirects=True) as client:
        fetcher = Fetcher(
            client=client,
            nvd_url=nvd_url or NVD_URL,
            kev_url=kev_url or KEV_URL,
            api_key=api_key or None,
            limiter=RateLimiter.for_nvd(api_key, window=window),
        )
        try:
            s = vuln_data.fetch_online(engine, fetcher=fetcher)
        except (FetchError, ServiceError) as exc:
            raise _fail(
                _(
                    "%(error)s (pages fetched so far are kept; run again to resume)",
                    error=exc.text(process_language()) if isinstance(exc, ServiceError) else str(exc),
                )
            ) from None
    typer.echo(
        _(
            "fetched %(pages)s NVD pages (%(nvd_changed)s records new or changed), %(kev_changed)s KEV entries changed",  # noqa: E501
            pages=s.pages,
            nvd_changed=s.nvd_changed,
            kev_changed=s.kev_changed,
        )
    )


@vuln_app.command("unmapped")
def unmapped(
    source: Annotated[str | None, typer.Option("--source", help="registry, dpkg or rpm")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100000)] = 100,
    database_url: DatabaseUrl = None,
) -> None:
    """Program names that no mapping rule knows (no finding can be made for them), most devices first."""
    from collector.db import make_engine, session_scope
    from collector.services import vulns

    engine = make_engine(resolve_database_url(database_url))
    try:
        with session_scope(engine) as session:
            rows = vulns.unmapped(session, scope=None, source=source, limit=limit)
    finally:
        engine.dispose()
    typer.echo(f"{'DEVICES':>7}  {'SOURCE':8}  NAME")
    for r in rows:
        typer.echo(f"{r.devices:>7}  {r.source:8}  {r.name}")
    typer.echo(_("%(n)s unmapped names", n=len(rows)))


PLUGIN = CommandSpec(commands=("vuln",))
