"""``wardwatch jobs``: the background job queue (``collector.services.jobs``) from the command line."""

from __future__ import annotations

from typing import Annotated

import typer

from collector.cli import DatabaseUrl, app, resolve_database_url
from collector.i18n import cli_gettext as _
from collector.plugins import CommandSpec

jobs_app = typer.Typer(help="Background jobs (vulnerability matching, scoring).", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")


@jobs_app.command("run-pending")
def run_pending(
    database_url: DatabaseUrl = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds at most.")] = 600.0,
) -> None:
    """Do every job ready now (collectors' workers do them anyway); print what is left."""
    from sqlmodel import Session

    from collector.db import make_engine
    from collector.services.jobs import queue_stats, run_pending_jobs
    from collector.settings import CollectorSettings

    url = resolve_database_url(database_url)
    engine = make_engine(url)
    try:
        done = run_pending_jobs(engine, CollectorSettings(database_url=url), timeout=timeout)
        with Session(engine) as session:
            stats = queue_stats(session)
    finally:
        engine.dispose()
    typer.echo(
        _(
            "ran %(done)s jobs; %(waiting)s waiting (retries later), %(failed)s failed",
            done=done,
            waiting=stats.depth,
            failed=stats.failed,
        )
    )


PLUGIN = CommandSpec(commands=("jobs",))
