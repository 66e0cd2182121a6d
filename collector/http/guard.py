"""Authenticate before reading bodies.

FastAPI reads (and for multipart spools to disk) a route's declared body before it solves the route's
dependencies, so an anonymous caller could make the collector parse and store a 100 MiB upload before
the 401. ``GuardedRoute`` (given to every router by ``authenticate_before_body`` in the app factory)
wraps the handler of every route that has a declared body and an ``allow(...)`` declaration: the
caller is authenticated and authorised from the headers first (in a worker thread), and the dependency
then reuses that principal. Public and agent routes are left as they are: the agent route reads its
body itself, after its key is checked.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Response
from fastapi.routing import APIRoute
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from collector.http.access import access_of
from collector.http.deps import PREAUTH_KEY, Principal, authorize
from collector.models.core import Role


def route_access(dependant: Any) -> tuple[str, tuple[Role, ...]] | None:
    """The route's access declaration, found in its dependency tree."""
    stack = [dependant]
    while stack:
        dep = stack.pop()
        mark = access_of(getattr(dep, "call", None))
        if mark is not None:
            return mark
        stack.extend(getattr(dep, "dependencies", []))
    return None


class GuardedRoute(APIRoute):
    """An APIRoute whose handler authenticates a role-guarded caller before the body is read."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        access = route_access(self.dependant)
        if self.body_field is None or access is None or access[0] != "roles":
            return handler
        roles = access[1]

        async def guarded(request: Request) -> Response:
            # A 401/403/login redirect raised here reaches the app's exception handlers like any other.
            request.scope[PREAUTH_KEY] = await run_in_threadpool(_authorize, request, roles)
            return await handler(request)

        return guarded


def authenticate_before_body(router: APIRouter) -> None:
    """Make the router's plain routes ``GuardedRoute``s; call before the router is included."""
    for route in router.routes:
        if type(route) is APIRoute:
            route.__class__ = GuardedRoute


def _authorize(request: Request, roles: tuple[Role, ...]) -> Principal:
    with Session(request.app.state.engine) as session:
        return authorize(request, session, roles)
