"""Ingest hooks: every module here has ``ORDER: int`` and ``apply(ctx: IngestContext) -> None``.

They run inside the ingest transaction, after the report, device, sections and results are stored.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collector.services.ingest_context import IngestContext


@cache
def hooks() -> tuple[Callable[[IngestContext], None], ...]:
    mods = [importlib.import_module(f"{__name__}.{m.name}") for m in pkgutil.iter_modules(__path__)]
    mods.sort(key=lambda m: (getattr(m, "ORDER", 100), m.__name__))
    return tuple(m.apply for m in mods)
