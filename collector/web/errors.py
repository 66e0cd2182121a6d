"""The console's error handling: the 403/404/405/500 page, login and password-change redirects."""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from collector.http.deps import (
    PASSWORD_CHANGE_DETAIL,
    PASSWORD_CHANGE_PAGE,
    SESSION_COOKIE,
    CsrfFailed,
    Forbidden,
    LoginRequired,
    PasswordChangeRequired,
    is_api,
)
from collector.web.cookies import translator_for
from collector.web.setup import WEB_DIR, flash, render

log = logging.getLogger(__name__)


def _attach_principal(request: Request) -> None:
    """Error pages for unknown paths still show who is logged in (and their navigation)."""
    if getattr(request.state, "principal", None) is not None:
        return
    try:
        from sqlmodel import Session

        from collector.http.deps import load_principal

        with Session(request.app.state.engine) as session:
            request.state.principal = load_principal(request, session)
    except Exception:  # an error page must render even when the database does not answer
        request.state.principal = None


def error_page(request: Request, code: int, *, csrf: bool = False) -> HTMLResponse:
    """The 403/404/405/500 page in the request's language; it never echoes internal details."""
    try:
        return render(request, "error.html", {"code": code, "csrf": csrf}, status_code=code)
    except Exception:
        log.exception("rendering the error page failed")
        return HTMLResponse(f"<h1>{code}</h1>", status_code=code)


def install(app: FastAPI) -> None:
    from collector.web.routes.docs import ASSETS_URL, assets_dir

    # Before /static, so that the API viewers' assets (from an installed package) are found first.
    app.mount(ASSETS_URL, StaticFiles(directory=assets_dir()), name="apidocs")
    app.mount("/static", StaticFiles(directory=str(WEB_DIR / "static")), name="static")

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        # A form posted after the session ended cannot be replayed: come back to the home page.
        next_url = target if request.method == "GET" else "/"
        response = RedirectResponse(f"/login?next={quote(next_url, safe='/')}", status_code=303)
        if getattr(request.state, "stale_session", False):
            _ = translator_for(request)
            flash(response, _("Your session has expired. Please log in again."), "info")
            response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.exception_handler(PasswordChangeRequired)
    async def _password_change(request: Request, exc: PasswordChangeRequired) -> Response:
        if is_api(request):
            return JSONResponse(
                {"detail": PASSWORD_CHANGE_DETAIL},
                status_code=403,
                headers={"X-Wardwatch-Password-Change": "required"},
            )
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        next_url = target if request.method == "GET" else "/"
        return RedirectResponse(f"{PASSWORD_CHANGE_PAGE}?next={quote(next_url, safe='/')}", status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        return error_page(request, 403)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if is_api(request) or not _wants_html(request):
            return await http_exception_handler(request, exc)
        await run_in_threadpool(_attach_principal, request)  # database work: off the event loop
        return error_page(request, exc.status_code, csrf=isinstance(exc, CsrfFailed))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        if is_api(request) or not _wants_html(request):
            return JSONResponse({"detail": "internal server error; the error has been logged"}, 500)
        return error_page(request, 500)


def _wants_html(request: Request) -> bool:
    # Machine paths that are not pages answer JSON like the API.
    return request.url.path not in ("/healthz", "/metrics")
