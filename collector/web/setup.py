"""Templates, static files, navigation, CSRF for forms and the web console's error handling.

Other rooms plug into the console without editing shared files:
- ``NAV = [(order, "English label", "/href", ("admin", ...))]`` in a ``collector/web/routes`` module adds
  top navigation entries, shown to those roles;
- ``SITE_TABS = [(order, "English label", "/sites/{code}/certificates", roles)]`` adds a tab to the site
  page (``{code}`` is filled in); a tab's page extends ``site_base.html`` and fills ``site_tab``;
- ``DEVICE_TABS`` likewise for the device page (``{id}`` filled in), pages extend ``device_base.html``;
- templates in ``templates/site_extras/*.html`` and ``templates/device_extras/*.html`` are included on
  the site and device pages (sorted by name) with the page's context (``site``/``device``, ``principal``);
- ``SITE_CONTEXT`` / ``DEVICE_CONTEXT``: lists of ``fn(session, site|device, principal) -> dict`` whose
  results are merged into that page's context, for the extras to show;
- ``OVERVIEW_CONTEXT``: ``fn(session, principal) -> dict`` merged into the overview's context, shown by
  ``templates/overview_extras/*.html``.
Every label goes through ``_()``; its Vietnamese lives in the room's ``locales/vi/<room>.po``.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from collector.api.deps import (
    PASSWORD_CHANGE_DETAIL,
    PASSWORD_CHANGE_PAGE,
    SESSION_COOKIE,
    CsrfFailed,
    Forbidden,
    LoginRequired,
    PasswordChangeRequired,
    is_api,
)
from collector.i18n import evidence_text
from collector.localtime import local_date
from collector.models.types import utcnow
from collector.security import same
from collector.services.errors import ServiceError
from collector.web.i18n import (
    DEFAULT_LANGUAGE,
    LANG_COOKIE,
    accepted_language,
    format_date,
    format_money,
    format_number,
    translator,
)

log = logging.getLogger(__name__)

WEB_DIR = Path(str(resources.files("collector.web")))
TEMPLATES = WEB_DIR / "templates"
FLASH_COOKIE = "ww_flash"
# Double-submit token for forms shown before there is a session (login, language switch).
PRE_CSRF_COOKIE = "ww_csrf"

_env = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    autoescape=select_autoescape(["html", "xml"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


# --- what other modules contribute -------------------------------------------------------------


@dataclass(frozen=True)
class NavItem:
    order: int
    label: str  # English; translated when shown
    href: str
    roles: tuple[str, ...]

    def visible_to(self, principal: Any) -> bool:
        return principal is not None and (not self.roles or str(principal.role) in self.roles)


@cache
def _route_modules() -> tuple[Any, ...]:
    pkg = importlib.import_module("collector.web.routes")
    names = sorted(m.name for m in pkgutil.iter_modules(pkg.__path__))
    return tuple(importlib.import_module(f"collector.web.routes.{n}") for n in names)


def contributions(attr: str) -> list[Any]:
    """Every routes module's ``attr`` list, concatenated (NAV, SITE_TABS, SITE_CONTEXT...)."""
    out: list[Any] = []
    for mod in _route_modules():
        out.extend(getattr(mod, attr, None) or [])
    return out


def _items(attr: str) -> list[NavItem]:
    items = [
        NavItem(int(o), str(label), str(href), tuple(str(r) for r in roles))
        for o, label, href, roles in contributions(attr)
    ]
    return sorted(items, key=lambda i: (i.order, i.href))


def nav_items(principal: Any) -> list[NavItem]:
    return [i for i in _items("NAV") if i.visible_to(principal)]


def site_tabs(principal: Any, code: str) -> list[NavItem]:
    return [
        NavItem(i.order, i.label, i.href.replace("{code}", quote(code, safe="")), i.roles)
        for i in _items("SITE_TABS")
        if i.visible_to(principal)
    ]


def device_tabs(principal: Any, device_id: int) -> list[NavItem]:
    return [
        NavItem(i.order, i.label, i.href.replace("{id}", str(device_id)), i.roles)
        for i in _items("DEVICE_TABS")
        if i.visible_to(principal)
    ]


def partials(folder: str) -> list[str]:
    """Template names in ``templates/<folder>/`` (sorted), for ``{% include %}`` hooks."""
    path = TEMPLATES / folder
    if not path.is_dir():
        return []
    return [f"{folder}/{p.name}" for p in sorted(path.iterdir()) if p.suffix == ".html"]


def extra_context(attr: str, *args: Any) -> dict[str, Any]:
    """Merge what every ``attr`` function (SITE_CONTEXT, DEVICE_CONTEXT) returns for this page.

    One failing contributor must not take the page down: its part is left out and logged.
    """
    merged: dict[str, Any] = {}
    for fn in contributions(attr):
        try:
            merged.update(fn(*args) or {})
        except Exception:
            log.exception("page context contributor %s failed", getattr(fn, "__qualname__", fn))
    return merged


# --- language, cookies, CSRF for pre-session forms ----------------------------------------------


def request_language(request: Request) -> str:
    """?lang= on this request, else the language cookie, else the user's stored choice, else vi."""
    principal = getattr(request.state, "principal", None)
    for lang in (
        request.query_params.get("lang"),
        request.cookies.get(LANG_COOKIE),
        getattr(principal, "language", None),
    ):
        if accepted_language(lang):
            return str(lang)
    return DEFAULT_LANGUAGE


def error_text(exc: Exception, lang: str) -> str:
    """A service error in the reader's language (its msgid and parameters); other errors as they are."""
    return exc.text(lang) if isinstance(exc, ServiceError) else str(exc)


def translator_for(request: Request) -> Callable[..., str]:
    return translator(request_language(request))


def secure_cookies(request: Request) -> bool:
    """Secure over TLS (the headers middleware adds it to every cookie then), or when forced."""
    settings = getattr(request.app.state, "settings", None)
    return request.url.scheme == "https" or bool(getattr(settings, "secure_cookies", False))


def set_cookie(request: Request, response: Response, name: str, value: str, *, max_age: int | None) -> None:
    """Every cookie of the console: HttpOnly, SameSite=Lax, Secure behind TLS."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
    )


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def form_csrf_token(request: Request) -> str:
    """The token a form on this page must carry: the session's, or a pre-session double-submit one."""
    principal = getattr(request.state, "principal", None)
    if principal is not None and principal.csrf_token:
        return str(principal.csrf_token)
    token = getattr(request.state, "new_pre_csrf", None) or request.cookies.get(PRE_CSRF_COOKIE)
    if not token or len(token) < 20:
        token = secrets.token_urlsafe(24)
        request.state.new_pre_csrf = token  # set on the response by render()
    return str(token)


def pre_session_csrf_ok(request: Request, sent: str | None) -> bool:
    """A public form's token must equal the cookie this browser was given (double submit)."""
    cookie = request.cookies.get(PRE_CSRF_COOKIE)
    return bool(sent and cookie and len(cookie) >= 20 and same(sent, cookie))


def safe_next(target: str | None) -> str:
    """Only a path on this site: never ``//host`` or ``http://...`` (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


# --- formatting helpers for templates -----------------------------------------------------------


def format_age(value: datetime | None, lang: str) -> str:
    _ = translator(lang)
    if value is None:
        return _("never")
    seconds = max(0, int((utcnow() - value).total_seconds()))
    if seconds < 60:
        return _("just now")
    if seconds < 3600:
        return _("%(n)s min ago", n=seconds // 60)
    if seconds < 86400:
        return _("%(n)s h ago", n=seconds // 3600)
    return _("%(n)s days ago", n=seconds // 86400)


def format_bytes(value: float | int | None, lang: str = "vi") -> str:
    """1,5 GB in Vietnamese, 1.5 GB in English."""
    if value is None:
        return "—"
    amount = float(value)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if amount < 1024 or unit == "TB":
            return f"{format_number(amount, lang, 0 if unit in ('B', 'KB') else 1)} {unit}"
        amount /= 1024
    return f"{format_number(amount, lang, 1)} TB"


# --- rendering and flashes ----------------------------------------------------------------------


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    """Render a page in the request's language, with the principal, CSRF token, navigation, helpers."""
    lang = request_language(request)
    principal = getattr(request.state, "principal", None)
    ctx: dict[str, Any] = {
        "request": request,
        "lang": lang,
        "_": translator(lang),
        "principal": principal,
        "csrf_token": form_csrf_token(request),
        "nav": nav_items(principal),
        "fmt_date": lambda v: format_date(v, lang),
        # The Vietnamese calendar day of a moment, without the time (an expiry "until 30/06/2026").
        "fmt_day": lambda v: format_date(local_date(v) if isinstance(v, datetime) else v, lang),
        "fmt_age": lambda v: format_age(v, lang),
        "fmt_bytes": lambda v: format_bytes(v, lang),
        "fmt_money": format_money,
        "fmt_num": lambda v, digits=None: format_number(v, lang, digits),
        # A result's or finding's evidence in the reader's language (message, else the compatibility map).
        "fmt_evidence": lambda row: evidence_text(
            getattr(row, "evidence", "") or "", getattr(row, "evidence_message", None), lang
        ),
        "flashes": pop_flashes(request),
        "partials": partials,
        "current_path": request.url.path,
    }
    ctx.update(context or {})
    html = _env.get_template(template).render(ctx)
    response = HTMLResponse(html, status_code=status_code)
    if accepted_language(request.query_params.get("lang")):
        set_cookie(request, response, LANG_COOKIE, lang, max_age=365 * 86400)
    new_pre = getattr(request.state, "new_pre_csrf", None)
    if new_pre:
        set_cookie(request, response, PRE_CSRF_COOKIE, new_pre, max_age=None)
    for cookie in getattr(request.state, "clear_cookies", []):
        response.delete_cookie(cookie, path="/")
    return response


def flash(response: Response, message: str, kind: str = "info") -> Response:
    """Show ``message`` (already translated) on the next page rendered; it travels in a cookie."""
    response.set_cookie(FLASH_COOKIE, quote(f"{kind}|{message}"), max_age=60, httponly=True, samesite="lax")
    return response


def pop_flashes(request: Request) -> list[tuple[str, str]]:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return []
    request.state.clear_cookies = [*getattr(request.state, "clear_cookies", []), FLASH_COOKIE]
    kind, _, message = unquote(raw).partition("|")
    kind = kind if kind in ("info", "ok", "error") else "info"
    return [(kind, message[:500])]


def redirect(url: str) -> RedirectResponse:
    """After a form POST: 303 so the browser follows with GET."""
    return RedirectResponse(url, status_code=303)


# --- errors -------------------------------------------------------------------------------------


def _attach_principal(request: Request) -> None:
    """Error pages for unknown paths still show who is logged in (and their navigation)."""
    if getattr(request.state, "principal", None) is not None:
        return
    try:
        from sqlmodel import Session

        from collector.api.deps import load_principal

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
