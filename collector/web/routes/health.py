"""Liveness: the process answers and the database does too."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from collector.http.deps import DbSession, Public
from collector.plugins import PageSpec

router = APIRouter()


@router.get("/healthz", dependencies=[Public], tags=["health"])
def healthz(session: DbSession) -> JSONResponse:
    try:
        session.exec(text("SELECT 1"))
    except Exception as exc:  # the answer is the point: say which part is down
        return JSONResponse({"status": "error", "database": type(exc).__name__}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


PLUGIN = PageSpec(router, order=0)
