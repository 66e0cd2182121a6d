"""Who may call a route. Every route declares it; ``tests/collector/test_route_access.py`` proves it.

A route declares access with exactly one of:
- ``Depends(allow(Role.ADMIN, ...))`` (or one of the aliases in ``deps``): a logged-in user with one of
  those roles, by bearer token (API) or session cookie (web);
- ``Depends(public)``: anyone (health, login page, published reports, static files);
- ``Depends(agent_auth)``: an enrolled agent's key (the dependency itself checks it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from collector.models.core import Role

if TYPE_CHECKING:
    from fastapi import FastAPI

ALL_ROLES: tuple[Role, ...] = tuple(Role)


def mark(kind: str, roles: tuple[Role, ...] = ()) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn.__wardwatch_access__ = (kind, roles)  # type: ignore[attr-defined]
        return fn

    return deco


def access_of(fn: Any) -> tuple[str, tuple[Role, ...]] | None:
    return getattr(fn, "__wardwatch_access__", None)


def route_table(app: FastAPI) -> list[tuple[str, set[str], object]]:
    """Every HTTP route as (path, methods, dependant), flattened across included routers."""
    from fastapi import routing

    table: list[tuple[str, set[str], object]] = []
    iter_contexts = getattr(routing, "iter_route_contexts", None)
    items = iter_contexts(app.routes) if iter_contexts else app.routes
    for item in items:
        dependant = getattr(item, "dependant", None)
        methods = getattr(item, "methods", None)
        path = getattr(item, "path", None) or getattr(item, "path_format", None)
        if dependant is not None and methods and path:
            table.append((path, set(methods), dependant))
    return table
