"""The OpenAPI document, told truthfully: the error answers every operation can give.

FastAPI documents an operation's success answer and, when it has parameters, the 422 of its own
validation. The collector answers more, for reasons common to whole classes of routes; they are added
here from what each route declares, not route by route:

- 401 for every route that needs credentials (``allow(...)`` or ``agent_auth``), 403 for roles;
- 404 for routes with path or query parameters (an id, a site code outside the user's scope);
- 400 and 422 for routes that take input (a service refusing it says why; values no database holds);
- 409 for routes that change state (a name taken, a state that does not allow the change);
- 413 for routes with a body (``collector.http.limits``: the body over its route class's limit).

Every error body is ``{"detail": ...}`` (a message, or a list of problems with their location). Routes
needing credentials carry a bearer ``security`` requirement; 405 answers list the path's methods in
``Allow`` (``AllowHeader``).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.requests import Request
from starlette.routing import Match

from collector.http.guard import route_access
from collector.http.params import NO_NUL

ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {
            "description": "What was wrong: a message, or a list of {loc, msg, type} naming each problem.",
            "anyOf": [
                {"type": "string"},
                {"type": "array", "items": {"type": "object"}},
                {"type": "object"},
            ],
        }
    },
}
ERROR_TEXT = {
    400: "The request cannot be carried out; `detail` says why.",
    401: "No valid credentials: log in, or send a valid bearer token (agents: their key).",
    403: "The caller's role may not do this.",
    404: "No such resource, or one outside the caller's sites.",
    409: "The request conflicts with the resource's current state; `detail` says how.",
    413: "The request body is larger than the limit for this kind of request.",
    422: "A parameter or the body is not valid; `detail` names each problem and where it is.",
}
WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})


def _error(code: int, *, page: bool = False) -> dict[str, Any]:
    # Paths outside /api/ are read by people: their errors are the console's page.
    if page:
        return {"description": ERROR_TEXT[code], "content": {"text/html": {"schema": {"type": "string"}}}}
    return {
        "description": ERROR_TEXT[code],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _routes(app: FastAPI) -> dict[tuple[str, str], Any]:
    """(path, method) -> the route's dependant, for the routes in the document."""
    from collector.http.access import route_table

    out: dict[tuple[str, str], Any] = {}
    for path, methods, dependant in route_table(app):
        documented = re.sub(r"\{(\w+):\w+\}", r"{\1}", path)  # /assets/{device_id:int} -> {device_id}
        for method in methods:
            out[(documented, method.lower())] = dependant
    return out


def truthful_openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    components["securitySchemes"] = {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "A user's API token (POST /api/v1/auth/token) or an agent's key.",
        }
    }
    _no_nul_strings(schema)
    routes = _routes(app)
    for path, operations in schema.get("paths", {}).items():
        for method, op in operations.items():
            dependant = routes.get((path, method))
            if dependant is None:
                continue
            access = route_access(dependant)
            kind = access[0] if access else "public"
            params = op.get("parameters", [])
            has_input = bool(params) or "requestBody" in op
            codes: set[int] = set()
            if kind != "public":
                codes.add(401)
                op["security"] = [{"bearer": []}]
            if kind == "roles":
                codes.add(403)
            if params:
                codes.add(404)
            if has_input:
                codes |= {400, 422}
            if method in WRITE_METHODS:
                codes |= {400, 404, 409}
            if "requestBody" in op:
                codes.add(413)
            responses = op.setdefault("responses", {})
            page = not path.startswith("/api/") and path not in ("/healthz", "/metrics")
            for code in sorted(codes | {int(c) for c in responses if c.isdigit() and int(c) in ERROR_TEXT}):
                described = responses.get(str(code)) or {}
                # A route's own description of the code wins; the body is always ``Error`` (FastAPI's
                # 422 schema knows only its own validation errors, ours say more).
                error = _error(code, page=page)
                responses[str(code)] = {
                    **error,
                    **({} if code == 422 else described),
                    "content": error["content"],
                }
    app.openapi_schema = schema
    return schema


def _no_nul_strings(node: Any) -> None:
    """Free text never holds NUL (no database stores it; inputs carrying one are refused with 422):
    every string without a pattern, format or fixed values says so."""
    if isinstance(node, dict):
        if node.get("type") == "string" and not ({"pattern", "format", "enum", "const"} & node.keys()):
            node["pattern"] = NO_NUL
        for value in node.values():
            _no_nul_strings(value)
    elif isinstance(node, list):
        for value in node:
            _no_nul_strings(value)


def install(app: FastAPI) -> None:
    app.openapi = lambda: truthful_openapi(app)  # type: ignore[method-assign]
    app.add_middleware(AllowHeader, app=app)


class AllowHeader:
    """A 405 lists, in ``Allow``, every method of every route of that path (Starlette lists only the
    first route it tried, and the console's error page none)."""

    def __init__(self, asgi: Any, app: FastAPI) -> None:
        self.asgi = asgi
        self.fastapi = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.asgi(scope, receive, send)
            return

        async def send_with_allow(message: Any) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                allow = ", ".join(sorted(self.methods(scope))).encode()
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                message = {**message, "headers": [*headers, (b"allow", allow)]}
            await send(message)

        await self.asgi(scope, receive, send_with_allow)

    def methods(self, scope: Any) -> set[str]:
        probe = {**scope, "method": "\x00"}  # matches no route's methods: every path match is partial
        found: set[str] = set()
        for route in _flat_routes(self.fastapi):
            match, _child = route.matches(probe)
            if match != Match.NONE:
                found |= set(getattr(route, "methods", None) or ())
        return found or {Request(scope).method}


def _flat_routes(app: FastAPI) -> list[Any]:
    from fastapi import routing

    iter_contexts = getattr(routing, "iter_route_contexts", None)
    return list(iter_contexts(app.routes)) if iter_contexts else list(app.routes)
