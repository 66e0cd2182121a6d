"""``wardwatch planning replacement``: the budget plan as CSV, XLSX, PDF or JSON, from the command line.

``wardwatch plan ...`` (the former name) still works, hidden from the help: scripts that call it keep
working.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from collector.cli import DatabaseUrl, app, resolve_database_url
from collector.i18n import cli_gettext as _
from collector.i18n import process_language
from collector.plugins import CommandSpec

plan_app = typer.Typer(help="Procurement planning: replacement plans.", no_args_is_help=True)
app.add_typer(plan_app, name="planning")
app.add_typer(plan_app, name="plan", hidden=True)  # the former name, for existing scripts


class PlanFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"
    pdf = "pdf"
    json = "json"


def _amount(value: str) -> int:
    from collector.services.assets import parse_money
    from collector.services.errors import ServiceError

    try:
        amount = parse_money(value, "--budget")
    except ServiceError as exc:
        raise typer.BadParameter(str(exc)) from None
    if amount is None:
        raise typer.BadParameter("--budget: give an amount in VND, e.g. 500000000 or 500.000.000")
    return amount


@plan_app.command("replacement")
def replacement(
    budget: Annotated[str, typer.Option("--budget", help="The budget in VND (500000000 or 500.000.000).")],
    format: Annotated[PlanFormat, typer.Option("--format", help="Output format.")] = PlanFormat.json,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (default: standard output).")
    ] = None,
    min_per_site: Annotated[
        int, typer.Option("--min-per-site", min=0, help="Minimum devices per commune.")
    ] = 0,
    site_min: Annotated[
        list[str] | None, typer.Option("--site-min", help="A commune's own minimum, CODE:N (repeat).")
    ] = None,
    must: Annotated[
        list[str] | None,
        typer.Option(
            "--must",
            help="Must-replace rule (lifecycle_to_replace, storage_failed, replace_now; repeat; 'none' for "
            "none). Default: the scoring config's.",
        ),
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="vi or en")] = "vi",
    database_url: DatabaseUrl = None,
) -> None:
    """Rank degraded equipment and fit the replacements to a budget, each pick explained."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from collector.api.routers.planning import parse_site_minimums
    from collector.db import error_reason, make_engine, session_scope
    from collector.reports.planning_report import render_plan
    from collector.services.errors import ServiceError
    from collector.services.planning import make_plan
    from collector.services.scoring import ScoringConfigError, load_config

    if lang not in ("vi", "en"):
        raise typer.BadParameter("--lang: vi or en")
    amount = _amount(budget)
    url = resolve_database_url(database_url)
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            plan = make_plan(
                session,
                budget=amount,
                scope=None,
                min_per_site=min_per_site,
                site_minimums=parse_site_minimums(site_min or []),
                must_replace=None if not must else [m for m in must if m != "none"],
                config=load_config(),
            )
            data = render_plan(plan, format.value, lang)
    except (ServiceError, ScoringConfigError) as exc:
        shown = exc.text(process_language()) if isinstance(exc, ServiceError) else str(exc)
        typer.echo(_("error: %(message)s", message=shown), err=True)
        raise typer.Exit(code=2) from None
    except SQLAlchemyError as exc:
        # A wrong URL, a server that is down or a database never migrated: say which, not a traceback.
        where = make_url(url).render_as_string(hide_password=True)
        reason = error_reason(exc)
        typer.echo(
            _(
                "error: cannot read the database %(where)s: %(reason)s (is it the collector's, and up to "
                "date? see `wardwatch db upgrade`)",
                where=where,
                reason=reason,
            ),
            err=True,
        )
        raise typer.Exit(code=2) from None
    finally:
        engine.dispose()
    if output is None:
        if format in (PlanFormat.xlsx, PlanFormat.pdf) and sys.stdout.isatty():
            typer.echo(
                _("error: %(format)s is binary; write it to a file with --output", format=format.value),
                err=True,
            )
            raise typer.Exit(code=2)
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        output.write_bytes(data)
    except OSError as exc:
        typer.echo(
            _("error: cannot write %(file)s: %(error)s", file=output, error=exc.strerror or exc), err=True
        )
        raise typer.Exit(code=2) from None
    from collector.i18n import format_money

    spent, total = format_money(plan.spent), format_money(plan.rules.budget)
    typer.echo(
        _(
            "%(n)s devices, %(spent)s of %(total)s; wrote %(file)s",
            n=len(plan.picks),
            spent=spent,
            total=total,
            file=output,
        ),
        err=True,
    )


PLUGIN = CommandSpec(commands=("planning", "plan"))
