"""The one plug-in loader: every module of a plug-in folder declares one typed spec named ``PLUGIN``.

Plug-in folders (``collector/api/routers``, ``collector/web/routes``, ``collector/ingest_hooks``,
``collector/commands``) let a capability be added by adding a file, without editing a shared list.
What a module contributes is one typed object (``RouterSpec``, ``PageSpec``, ``HookSpec``,
``CommandSpec``) instead of loose module attributes read with ``getattr``: a module without its spec, or
with a spec of the wrong type, stops the app from starting with a message that names the module,
instead of being skipped silently. Order is the spec's ``order`` (then the module name).

``collector/models`` is loaded by ``import_all`` alone: importing a model module registers its tables.
This module imports nothing of the collector, so every layer may use it.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from fastapi import APIRouter

SPEC_ATTR = "PLUGIN"
DEFAULT_ORDER = 100


@dataclass(frozen=True)
class RouterSpec:
    """An API router module (``collector/api/routers``): its routes are included under ``/api/v1``."""

    router: APIRouter
    order: int = DEFAULT_ORDER


@dataclass(frozen=True)
class Link:
    """A navigation entry or a tab: English label (translated when shown) and the page it opens.

    Who sees it is not written here: it is whoever the page's route lets in (its ``allow(...)``).
    ``{code}`` (site tabs) and ``{id}`` (device tabs) are filled in when shown.
    """

    order: int
    label: str
    href: str


@dataclass(frozen=True)
class PageSpec:
    """A page module (``collector/web/routes``): its router plus what it adds to shared pages.

    ``site_context``/``device_context``: ``fn(session, site|device, principal) -> dict`` merged into the
    site or device page's context; ``overview_context``: ``fn(session, principal) -> dict`` merged into
    the overview's (shown by ``templates/overview_extras/*.html``).
    """

    router: APIRouter
    order: int = DEFAULT_ORDER
    nav: tuple[Link, ...] = ()
    site_tabs: tuple[Link, ...] = ()
    device_tabs: tuple[Link, ...] = ()
    site_context: tuple[Callable[..., dict[str, Any] | None], ...] = ()
    device_context: tuple[Callable[..., dict[str, Any] | None], ...] = ()
    overview_context: tuple[Callable[..., dict[str, Any] | None], ...] = ()


@dataclass(frozen=True)
class HookSpec:
    """An ingest hook (``collector/ingest_hooks``): runs inside the ingest transaction, by ``order``."""

    name: str
    # Takes a ``collector.services.ingest_context.IngestContext`` (not imported: this module is below
    # every layer, the models included).
    apply: Callable[[Any], None]
    order: int = DEFAULT_ORDER


@dataclass(frozen=True)
class CommandSpec:
    """A command module (``collector/commands``): the top-level ``wardwatch`` commands it registers on
    ``collector.cli.app`` (Typer registers them by decorator when the module is imported)."""

    commands: tuple[str, ...] = field(default_factory=tuple)
    order: int = DEFAULT_ORDER


Spec = TypeVar("Spec", RouterSpec, PageSpec, HookSpec, CommandSpec)


class PluginError(RuntimeError):
    """A module of a plug-in folder does not declare its spec (or declares the wrong kind)."""


def module_names(package: str) -> list[str]:
    """The modules of a plug-in folder, by name (what the loader loads: every one of them)."""
    pkg = importlib.import_module(package)
    return sorted(f"{package}.{m.name}" for m in pkgutil.iter_modules(pkg.__path__))


def import_all(package: str) -> list[ModuleType]:
    """Import every module of ``package`` (sorted by name)."""
    return [importlib.import_module(name) for name in module_names(package)]


@cache
def load(package: str, kind: type[Spec]) -> tuple[Spec, ...]:
    """Every module's ``PLUGIN`` of ``package``, checked to be a ``kind``, sorted by (order, module)."""
    found: list[tuple[int, str, Spec]] = []
    for mod in import_all(package):
        spec = getattr(mod, SPEC_ATTR, None)
        if not isinstance(spec, kind):
            raise PluginError(
                f"{mod.__name__} must declare {SPEC_ATTR} = {kind.__name__}(...) "
                f"(found {type(spec).__name__}); every module of {package} is a plug-in"
            )
        found.append((spec.order, mod.__name__, spec))
    return tuple(spec for _order, _name, spec in sorted(found, key=lambda t: (t[0], t[1])))
