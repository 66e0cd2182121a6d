"""The ``wardwatch`` command.

The root lives here and mounts the agent's Typer app; collector modules load only inside
collector commands, so ``wardwatch agent ...`` never imports FastAPI or SQLAlchemy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agent.cli import app as agent_app

app = typer.Typer(
    help="wardwatch: infrastructure and security compliance for communes and wards.", no_args_is_help=True
)
app.add_typer(agent_app, name="agent")

DEFAULT_DATA_DIR = Path("wardwatch-data")

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="WARDWATCH_DATABASE_URL",
        help="SQLAlchemy URL; default: the SQLite database of ./wardwatch-data.",
    ),
]


def resolve_database_url(url: str | None, data_dir: Path = DEFAULT_DATA_DIR) -> str:
    if url:
        return url
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(data_dir / 'wardwatch.db').resolve()}"


@app.command()
def schema() -> None:
    """Print the JSON Schema of the agent -> collector report."""
    import json

    from inventory.report import report_json_schema

    typer.echo(json.dumps(report_json_schema(), indent=2))


def main() -> None:
    # Collector command groups register here, on first use of the root command.
    from collector import commands  # noqa: F401  (registers its commands on ``app``)
    from collector.cli import app as root  # not ``app``: under ``python -m`` this module is __main__

    root()


if __name__ == "__main__":
    main()
