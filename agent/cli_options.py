"""Options every ``wardwatch agent`` command shares (agent/cli.py and each capability's command)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

StateDir = Annotated[
    Path | None,
    typer.Option("--state-dir", envvar="WARDWATCH_AGENT_STATE_DIR", help="Agent state: key and spool."),
]
ConfigFile = Annotated[
    Path | None,
    typer.Option("--config", envvar="WARDWATCH_AGENT_CONFIG", help="Agent configuration file (TOML)."),
]
