"""Templates, static files and the web console's error handling."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from collector.api.deps import Forbidden, LoginRequired
from collector.web.i18n import (
    DEFAULT_LANGUAGE,
    LANG_COOKIE,
    LANGUAGES,
    format_date,
    format_money,
    translator,
)

WEB_DIR = Path(str(resources.files("collector.web")))

_env = Environment(
    loader=FileSystemLoader(str(WEB_DIR / "templates")),
    autoescape=select_autoescape(["html", "xml"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def request_language(request: Request) -> str:
    lang = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    """Render a page in the request's language, with the principal, CSRF token and helpers."""
    lang = request_language(request)
    principal = getattr(request.state, "principal", None)
    ctx: dict[str, Any] = {
        "request": request,
        "lang": lang,
        "_": translator(lang),
        "principal": principal,
        "csrf_token": principal.csrf_token if principal else "",
        "fmt_date": lambda v: format_date(v, lang),
        "fmt_money": format_money,
        "flashes": pop_flashes(request),
    }
    ctx.update(context or {})
    html = _env.get_template(template).render(ctx)
    response = HTMLResponse(html, status_code=status_code)
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", httponly=True)
    for cookie in getattr(request.state, "clear_cookies", []):
        response.delete_cookie(cookie)
    return response


FLASH_COOKIE = "ww_flash"


def flash(response: Response, message: str, kind: str = "info") -> Response:
    """Show ``message`` on the next page rendered (it travels in a short-lived cookie)."""
    response.set_cookie(FLASH_COOKIE, quote(f"{kind}|{message}"), max_age=60, httponly=True, samesite="lax")
    return response


def pop_flashes(request: Request) -> list[tuple[str, str]]:
    from urllib.parse import unquote

    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return []
    request.state.clear_cookies = [*getattr(request.state, "clear_cookies", []), FLASH_COOKIE]
    kind, _, message = unquote(raw).partition("|")
    return [(kind, message)]


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=str(WEB_DIR / "static")), name="static")

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        return render(request, "error.html", {"code": 403}, status_code=403)
