"""``wardwatch vuln update --from PATH [--online]`` and ``wardwatch vuln unmapped``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from collector.cli import DatabaseUrl, app, resolve_database_url
from collector.plugins import CommandSpec

vuln_app = typer.Typer(help="Known vulnerabilities: NVD and CISA KEV data.", no_args_is_help=True)
app.add_typer(vuln_app, name="vuln")

NVD_NOTICE = "This product uses data from the NVD API but is not endorsed or certified by the NVD."


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
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
        raise _fail("give --from PATH (files or a folder) or --online")
    url = resolve_database_url(database_url)
    settings = CollectorSettings(database_url=url)
    engine = make_engine(url)
    try:
        if from_path:
            try:
                with session_scope(engine) as session:
                    s = vuln_data.import_paths(session, paths=from_path)
            except ServiceError as exc:
                raise _fail(f"{exc} (nothing was imported)") from None
            typer.echo(
                f"imported {s.files} files: {s.nvd_records} NVD records ({s.nvd_changed} new or changed), "
                f"{s.kev_entries} KEV entries ({s.kev_changed} new or changed)"
            )
        if online:
            _online(engine, api_key=api_key, nvd_url=nvd_url, kev_url=kev_url)
        with session_scope(engine) as session:
            done = vulns.evaluate_devices(session, due_days=settings.due_days)
            status = vuln_data.data_status(session)
        evaluated = [e for e in done if e.evaluated]
        typer.echo(
            f"re-evaluated {len(evaluated)} of {len(done)} devices; "
            f"{sum(e.kev_products for e in evaluated)} programs with known exploited vulnerabilities"
        )
        for st in status:
            age = (
                "no data"
                if st.data_date is None
                else f"data of {st.data_date:%Y-%m-%d} ({st.age_days} days old)"
            )
            typer.echo(f"{st.name}: {age}{' — older than 14 days' if st.stale else ''}")
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
            raise _fail(f"{exc} (pages fetched so far are kept; run again to resume)") from None
    typer.echo(
        f"fetched {s.pages} NVD pages ({s.nvd_changed} records new or changed), "
        f"{s.kev_changed} KEV entries changed"
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
    typer.echo(f"{len(rows)} unmapped names")


PLUGIN = CommandSpec(commands=("vuln",))
