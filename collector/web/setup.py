"""Templates and rendering (with flashes) of the web console. Its other concerns have their modules:
``nav`` (navigation, tabs and page contexts from the page plug-ins), ``cookies`` (language, cookies,
CSRF for pre-session forms) and ``errors`` (error pages, login and password-change redirects). The
names the pages use from ``nav`` and ``cookies`` are re-exported here.
"""

from __future__ import annotations

import logging
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from collector.i18n import evidence_text
from collector.localtime import local_date
from collector.models.types import utcnow
from collector.services.errors import ServiceError
from collector.web.cookies import (
    PRE_CSRF_COOKIE,
    client_address,
    form_csrf_token,
    pre_session_csrf_ok,
    request_language,
    safe_next,
    secure_cookies,
    set_cookie,
    translator_for,
)
from collector.web.i18n import (
    LANG_COOKIE,
    accepted_language,
    format_date,
    format_money,
    format_number,
    translator,
)
from collector.web.nav import (
    NavItem,
    device_tabs,
    extra_context,
    link_roles,
    nav_items,
    page_specs,
    site_tabs,
)

__all__ = [
    "PRE_CSRF_COOKIE",
    "NavItem",
    "client_address",
    "device_tabs",
    "extra_context",
    "flash",
    "form_csrf_token",
    "link_roles",
    "nav_items",
    "page_specs",
    "partials",
    "pop_flashes",
    "pre_session_csrf_ok",
    "redirect",
    "render",
    "request_language",
    "safe_next",
    "secure_cookies",
    "set_cookie",
    "site_tabs",
    "translator_for",
]

log = logging.getLogger(__name__)

WEB_DIR = Path(str(resources.files("collector.web")))
TEMPLATES = WEB_DIR / "templates"
FLASH_COOKIE = "ww_flash"

_env = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    autoescape=select_autoescape(["html", "xml"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def partials(folder: str) -> list[str]:
    """Template names in ``templates/<folder>/`` (sorted), for ``{% include %}`` hooks."""
    path = TEMPLATES / folder
    if not path.is_dir():
        return []
    return [f"{folder}/{p.name}" for p in sorted(path.iterdir()) if p.suffix == ".html"]


def error_text(exc: Exception, lang: str) -> str:
    """A service error in the reader's language (its msgid and parameters); other errors as they are."""
    return exc.text(lang) if isinstance(exc, ServiceError) else str(exc)


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
