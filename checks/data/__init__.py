"""Data the evaluators judge against (shipped with the package, no I/O at import)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def os_eol_table() -> dict[str, Any]:
    """The OS end-of-servicing table (``os_eol.json``; source and snapshot date in ``["source"]``)."""
    table: dict[str, Any] = json.loads(
        resources.files(__name__).joinpath("os_eol.json").read_text(encoding="utf-8")
    )
    return table
