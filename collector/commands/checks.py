"""``wardwatch checks list [--json]``: the security check catalog.

The catalog is agent-side data (``checks``): this command imports neither FastAPI nor SQLAlchemy, so it
works on a commune PC with the base install.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from collector.cli import app
from collector.i18n import cli_gettext as _
from collector.i18n import localized, translator
from collector.plugins import CommandSpec

# Check texts the JSON listing gives in both languages, as it always has.
LOCALIZED = ("title", "rationale", "remediation")

checks_app = typer.Typer(help="The security check catalog.", no_args_is_help=True)
app.add_typer(checks_app, name="checks")

SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")


@checks_app.command("list")
def list_checks(
    as_json: Annotated[bool, typer.Option("--json", help="Every check with all its fields.")] = False,
    lang: Annotated[str, typer.Option("--lang", help="Language of the titles: vi or en.")] = "vi",
    module: Annotated[str | None, typer.Option("--module", help="Only one agent module's checks.")] = None,
) -> None:
    """Print the check catalog (id, severity, platforms, title); exit 1 if the catalog is broken."""
    from checks.catalog import CatalogError, catalog_problems, load_catalog

    if lang not in ("vi", "en"):
        raise typer.BadParameter("vi or en", param_hint="--lang")
    try:
        catalog = load_catalog()
    except CatalogError as exc:
        typer.echo(_("the check catalog is broken: %(error)s", error=exc), err=True)
        raise typer.Exit(1) from None
    problems = catalog_problems(catalog)
    modules = sorted({c.module for c in catalog.values()})
    if module is not None and module not in modules:
        typer.echo(
            _(
                "error: no module %(module)s; the modules are: %(modules)s",
                module=repr(module),
                modules=", ".join(modules),
            ),
            err=True,
        )
        raise typer.Exit(2)
    checks = [c for c in catalog.values() if module is None or c.module == module]
    if as_json:
        data: list[dict[str, Any]] = [
            {**c.model_dump(mode="json"), **{k: localized(getattr(c, k)) for k in LOCALIZED}} for c in checks
        ]
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        width = max((len(c.id) for c in checks), default=10)
        typer.echo(f"{'ID'.ljust(width)}  {'SEVERITY':8}  {'MODULE':7}  {'PLATFORMS':13}  TITLE")
        for c in sorted(checks, key=lambda c: (c.module, SEVERITY_ORDER.index(c.severity.value), c.id)):
            platforms = ",".join(c.platforms) or "all"
            title = translator(lang)(c.title)
            typer.echo(f"{c.id.ljust(width)}  {c.severity.value:8}  {c.module:7}  {platforms:13}  {title}")
        typer.echo(_("%(n)s checks", n=len(checks)))
    for p in problems:
        typer.echo(_("problem: %(problem)s", problem=p), err=True)
    if problems:
        raise typer.Exit(1)


PLUGIN = CommandSpec(commands=("checks",))
