"""The collector's app factory. Nothing happens at import: ``create_app`` builds everything."""

from __future__ import annotations

import functools
import gc
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from collector.api import openapi
from collector.db import error_reason, make_engine
from collector.http.guard import authenticate_before_body
from collector.http.limits import BodyLimit
from collector.metrics import Metrics
from collector.plugins import PageSpec, RouterSpec, load
from collector.services.errors import ServiceError
from collector.settings import CollectorSettings

log = logging.getLogger(__name__)


GIL_SWITCH_SECONDS = 0.0005


@functools.cache  # once per process
def freeze_startup_heap() -> None:
    """Move the objects alive after startup (modules, routes, models, SQLAlchemy metadata: ~160,000)
    out of the cyclic garbage collector's reach, once per process. A full collection walks every
    tracked object: at 160,000 that walk cost 20-200 ms (more under load) and fell on whichever request
    happened to trigger it, so a page that allocates many short-lived rows (the replacement plan with
    commune minimums: thousands of ranking rows per request, ~0.5 full collection per request) saw its
    p95 doubled. Frozen objects are still freed by reference counting; only cycles among them are not,
    so the heap is collected once first."""
    gc.collect()
    gc.freeze()


def create_app(settings: CollectorSettings | None = None, *, engine: Engine | None = None) -> FastAPI:
    settings = settings or CollectorSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # With ingest_processes 0, ingest threads parse and store reports of megabytes while the event
        # loop answers pages: with the default 5 ms GIL slice a page waits behind them
        # (bench/ingest_stall.py, reports at the bounds: the overview's p95 505 ms); 0.5 ms slices hand
        # the loop the GIL ten times as often (144-269 ms over four runs, /healthz 165-181 ms), for a
        # few percent of ingest throughput. Kept with ingest processes too: pages' own threads remain.
        sys.setswitchinterval(GIL_SWITCH_SECONDS)
        # Periodic work (notifications, housekeeping): each job runs once per interval across all the
        # processes sharing the database (collector.scheduler); it stops with the server.
        from collector import scheduler as jobs

        scheduler = jobs.start(app.state.engine, settings)
        # Reports are parsed and stored in ingest processes of this one (collector.services.ingest_pool),
        # which also run the job worker: this process's GIL serves HTTP only.
        pool = getattr(app.state, "ingest_pool", None)
        if pool is not None:
            pool.start().start_watch()
        # Derived work queued by reports (collector.services.jobs): any process may do any job.
        worker = None
        if settings.job_worker and pool is None:
            from collector.services.jobs import Worker

            worker = app.state.job_worker = Worker(app.state.engine, settings).start()
        freeze_startup_heap()
        try:
            yield
        finally:
            if pool is not None:
                pool.stop_watch()
                # The processes finish the report and the job they hold: off the event loop.
                await anyio.to_thread.run_sync(pool.stop)
            if worker is not None:
                worker.stop()
            if scheduler is not None:
                scheduler.stop()

    app = FastAPI(
        title="wardwatch collector",
        version="0.1.0",
        # Served by collector.web.routes.docs: offline assets, no inline script, login unless public.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine or make_engine(settings.database_url)
    app.state.metrics = Metrics()
    if settings.ingest_processes:
        from collector.services.ingest_pool import IngestPool

        app.state.ingest_pool = IngestPool(settings)  # its processes start with the lifespan

    # Every module of these packages declares its spec (collector.plugins); adding one is adding a file.
    for api in load("collector.api.routers", RouterSpec):
        authenticate_before_body(api.router)
        app.include_router(api.router, prefix="/api/v1")
    from collector import web

    web.install(app)
    for page in load("collector.web.routes", PageSpec):
        authenticate_before_body(page.router)
        app.include_router(page.router)
    from collector.web.errors import error_page

    app.add_middleware(BodyLimit, settings=settings, error_page=error_page)
    openapi.install(app)

    @app.exception_handler(ServiceError)
    @app.exception_handler(DataError)
    async def _refused(request: Request, exc: Exception) -> Response:
        # A service refusal no route turned into an answer (a value no database holds, caught on its
        # way to the database), or PostgreSQL refusing a value (too long, out of range): the caller's
        # input, so a 4xx, answered the way the route's other errors are (JSON or the console's page).
        if isinstance(exc, ServiceError):
            http = HTTPException(exc.status_code, str(exc))
        else:
            reason = error_reason(exc)
            log.warning("the database refused a value on %s %s: %s", request.method, request.url.path, reason)
            http = HTTPException(422, f"the database refused a value: {reason}")
        return await request.app.exception_handlers[StarletteHTTPException](request, http)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Say what was wrong and where, without echoing the whole body back.
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()[:50]
        ]
        return JSONResponse(status_code=422, content={"detail": errors})

    _wrap_outside_error_handling(app, settings)
    return app


def _wrap_outside_error_handling(app: FastAPI, settings: CollectorSettings) -> None:
    """Security headers and proxy trust wrap the whole stack, Starlette's error middleware included,
    so that a 500 answer carries the headers and the scheme a trusted proxy reported."""
    from collector.proxy import TrustedProxy
    from collector.web.headers import SecurityHeaders

    build = app.build_middleware_stack

    def build_wrapped() -> Any:
        return TrustedProxy(SecurityHeaders(build()), settings.forwarded_allow_ips)

    app.build_middleware_stack = build_wrapped  # type: ignore[method-assign]
