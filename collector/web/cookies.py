"""Language, cookies and CSRF for forms shown before there is a session; safe redirects."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from fastapi import Request
from fastapi.responses import Response

from collector.security import same
from collector.web.i18n import (
    DEFAULT_LANGUAGE,
    LANG_COOKIE,
    accepted_language,
    translator,
)

# Double-submit token for forms shown before there is a session (login, language switch).
PRE_CSRF_COOKIE = "ww_csrf"


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
