"""Authenticate before reading bodies.

FastAPI reads (and for multipart spools to disk) a route's declared body before it solves the route's
dependencies, so an anonymous caller could make the collector parse and store a 100 MiB upload before
the 401. ``authenticate_before_body`` wraps every route that has a declared body and an ``allow(...)``
declaration: the caller is authenticated and authorised from the headers first (in a worker thread),
and the dependency then reuses that principal. Public and agent routes are left as they are: the agent
route reads its body itself, after its key is checked.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from collector.api.access import access_of
from collector.api.deps import PREAUTH_KEY, Principal, authorize
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


def authenticate_before_body(app: FastAPI) -> None:
    for route in app.routes:
        if not isinstance(route, APIRoute) or route.body_field is None:
            continue
        access = route_access(route.dependant)
        if access is not None and access[0] == "roles":
            route.app = _auth_first(route.app, access[1])


def _auth_first(inner: Any, roles: tuple[Role, ...]) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        # Raised 401/403/login redirects reach the app's exception handlers like any other.
        scope[PREAUTH_KEY] = await run_in_threadpool(_authorize, Request(scope), roles)
        await inner(scope, receive, send)

    return app


def _authorize(request: Request, roles: tuple[Role, ...]) -> Principal:
    with Session(request.app.state.engine) as session:
        return authorize(request, session, roles)
