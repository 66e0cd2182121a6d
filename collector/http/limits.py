"""Request-size limits per route class, enforced while the body streams in (pure ASGI middleware).

Classes: ``reports`` (agent reports, also held to ``max_report_bytes`` after decompression),
``photos`` (inspection photos), ``imports`` (asset CSV imports) and ``other`` (every other request).
A declared Content-Length over the limit is refused before anything is read; a body that grows past it
while streaming is refused at the chunk that crosses it. Either way: 413 naming the limit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import HTTPException, status
from fastapi.responses import JSONResponse, Response
from starlette.requests import Request

from collector.http.deps import is_api
from collector.settings import CollectorSettings

# Renders the console's error page for a status code (``collector.web.errors.error_page``).
ErrorPage = Callable[[Request, int], Response]

ROUTE_CLASSES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("reports", re.compile(r"^/api/v1/reports/?$")),
    ("photos", re.compile(r"^/api/v1/inspections/[^/]+/photos/?$")),
    # /api/v1/assets/import: the former path (a 308 to the new one), held to the same limit.
    ("imports", re.compile(r"^(/api/v1/(planning/)?assets/import|/planning/import(/apply)?)/?$")),
)


def route_class(path: str) -> str:
    return next((name for name, pattern in ROUTE_CLASSES if pattern.match(path)), "other")


def class_limit(settings: CollectorSettings, name: str) -> int:
    if name == "reports":
        # The wire form of a report: gzip can exceed its input a little on incompressible data.
        return settings.max_report_bytes + 64 * 1024
    return {
        "photos": settings.max_photo_request_bytes,
        "imports": settings.max_import_request_bytes,
    }.get(name, settings.max_request_bytes)


class BodyTooLarge(HTTPException):
    """Raised from ``receive``; FastAPI passes HTTPExceptions from body reading on to the handlers."""

    def __init__(self, limit: int, name: str) -> None:
        super().__init__(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"request body larger than the limit of {limit} bytes for {name} requests",
        )


class BodyLimit:
    def __init__(self, app: Any, settings: CollectorSettings, error_page: ErrorPage | None = None) -> None:
        self.app = app
        self.settings = settings
        # The console's error page, given by the app factory (pages live above this module).
        self.error_page = error_page

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        name = route_class(scope.get("path", ""))
        limit = class_limit(self.settings, name)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(scope, send, BodyTooLarge(limit, name), self.error_page)
            return
        received = 0

        async def limited_receive() -> Any:
            nonlocal received
            message = await receive()
            if message.get("type") == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit, name)
            return message

        started = False

        async def watch(message: Any) -> None:
            nonlocal started
            if message.get("type") == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, watch)
        except BodyTooLarge as exc:
            # Read outside the route (a parser that wrapped nothing): answer here if still possible.
            if started:
                raise
            await _refuse(scope, send, exc, self.error_page)


def _content_length(scope: Any) -> int | None:
    for key, value in scope.get("headers", []):
        if key == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None


async def _refuse(scope: Any, send: Any, exc: BodyTooLarge, error_page: ErrorPage | None) -> None:
    """413 as the route would answer it: JSON for the API and machines, the error page for people."""
    request = Request(scope)
    response: Response
    if is_api(request) or request.url.path == "/healthz" or error_page is None:
        response = JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
    else:
        response = error_page(request, exc.status_code)
    # The rest of the body is not read: the connection cannot be reused.
    response.headers["connection"] = "close"
    await response(scope, _nothing, send)


async def _nothing() -> Any:
    return {"type": "http.disconnect"}
