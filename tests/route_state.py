"""FastAPI's analysis of a route once per test process, shared by every app the process builds.

FastAPI 0.16x builds a route's state (its dependency tree, its parameter and response models: pydantic
schemas) lazily and per app, for every route of every router a request's path is matched against: 0.2-0.3
s of CPU at each app's first requests (1.4 s for all 199 routes under a profiler), paid again by each of
the ~2,000 apps the suite builds (most tests build their own app). A real collector builds one app per
process and pays it once. That state depends on the route (module-level routers, shared by every app)
and on how its router was included (prefix, tags, dependencies...): that pair is the key here. The one
per-app thing it holds is the app whose ``dependency_overrides`` it reads; no test overrides
dependencies (one that did would have to build its routes afresh: call the returned undo first). Same
routes, same handlers, same answers.

Used by tests/conftest.py (the test processes) and tests/agent/support.py (the forked collectors).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable
from typing import Any


def _plain(value: Any) -> Hashable:
    """An include option as a hashable key part (FastAPI's ``Default()`` placeholders compare by value)."""
    from fastapi.datastructures import DefaultPlaceholder

    if isinstance(value, DefaultPlaceholder):
        return ("default", _plain(value.value))
    if isinstance(value, dict):
        return tuple(sorted((repr(k), _plain(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_plain(v) for v in value)
    try:
        hash(value)
    except TypeError:
        return ("id", id(value))
    return value


def share_route_state() -> Callable[[], None]:
    """Build each (route, inclusion) once in this process; returns the undo. A no-op without FastAPI
    or on a FastAPI without that lazy per-app step."""
    try:
        from fastapi import routing

        context_class: Any = routing._EffectiveRouteContext
        build = context_class.__dict__["from_api_route"].__func__
    except (ImportError, AttributeError, KeyError):  # no collector extras, or no such step
        return lambda: None
    built: dict[Hashable, tuple[Any, Any]] = {}

    def from_api_route(cls: Any, *, original_route: Any, include_context: Any) -> Any:
        options = tuple(
            (f.name, _plain(getattr(include_context, f.name)))
            for f in dataclasses.fields(include_context)
            if f.name not in ("included_router", "dependency_overrides_provider")
        )
        key = (id(original_route), type(original_route), id(include_context.included_router), options)
        hit = built.get(key)
        if hit is not None and hit[0] is original_route:
            return hit[1]
        context = build(cls, original_route=original_route, include_context=include_context)
        built[key] = (original_route, context)
        return context

    original = context_class.__dict__["from_api_route"]
    context_class.from_api_route = classmethod(from_api_route)

    def undo() -> None:
        context_class.from_api_route = original

    return undo
