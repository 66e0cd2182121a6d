"""Logging in and out of the web console.

The login form is protected against CSRF before any session exists by a double-submit token: a random
value in an HttpOnly cookie that the form must echo. A new session gets its own CSRF token.
"""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from collector.http.deps import SESSION_COOKIE, DbSession, PendingUser, Public, Settings, load_principal
from collector.plugins import PageSpec
from collector.services.audit import record
from collector.services.errors import Unauthorized
from collector.services.throttle import TooManyAttempts
from collector.services.users import authenticate, create_auth_session, end_auth_session, user_site_ids
from collector.web.i18n import LANG_COOKIE
from collector.web.setup import (
    PRE_CSRF_COOKIE,
    client_address,
    flash,
    pre_session_csrf_ok,
    redirect,
    render,
    safe_next,
    set_cookie,
    translator_for,
)

router = APIRouter(include_in_schema=False)


@router.get("/login", dependencies=[Public])
def login_page(request: Request, session: DbSession, next: str = "/") -> Response:
    if load_principal(request, session) is not None:
        return redirect(safe_next(next))  # already logged in
    return render(request, "login.html", {"next": safe_next(next)})


@router.post("/login", dependencies=[Public])
def login(
    request: Request,
    session: DbSession,
    settings: Settings,
    username: str = Form("", max_length=150),
    password: str = Form("", max_length=1024),
    csrf_token: str = Form(""),
    next: str = Form("/"),
) -> Response:
    _ = translator_for(request)
    target = safe_next(next)
    if not pre_session_csrf_ok(request, csrf_token):
        request.state.new_pre_csrf = None
        request.cookies.pop(PRE_CSRF_COOKIE, None)  # hand out a fresh token with the refusal
        error = _("The login form has expired. Please try again.")
        return render(request, "login.html", {"next": target, "error": error}, status_code=403)
    address = client_address(request)
    try:
        user = authenticate(session, username=username, password=password, address=address)
    except TooManyAttempts as exc:
        session.commit()  # keep the count of refused attempts
        error = _("Too many failed attempts. Wait %(n)s seconds, then try again.", n=exc.retry_after)
        refusal = render(
            request, "login.html", {"next": target, "error": error, "username": username}, status_code=429
        )
        refusal.headers["Retry-After"] = str(exc.retry_after)
        return refusal
    except Unauthorized:
        session.commit()  # keep the throttle state and the count of failures
        # One message for every failure: it does not tell whether the user exists.
        error = _("Wrong username or password.")
        return render(
            request, "login.html", {"next": target, "error": error, "username": username}, status_code=401
        )
    token, _row = create_auth_session(
        session, user, kind="web", hours=settings.session_hours, address=address
    )
    session.commit()
    response = redirect(target)
    set_cookie(request, response, SESSION_COOKIE, token, max_age=settings.session_hours * 3600)
    # The pre-session token has done its job; a new one is issued when a login form shows again.
    response.delete_cookie(PRE_CSRF_COOKIE, path="/")
    if user.language and not request.cookies.get(LANG_COOKIE):
        set_cookie(request, response, LANG_COOKIE, user.language, max_age=365 * 86400)
    return response


@router.post("/logout")
def logout(request: Request, user: PendingUser, session: DbSession) -> Response:
    if user.session_id is not None:
        end_auth_session(session, user.session_id)
    record(
        session,
        actor=user.username,
        action="logout",
        address=client_address(request),
        sites=user_site_ids(session, user.user_id),
    )
    session.commit()
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    _ = translator_for(request)
    flash(response, _("You have logged out."), "ok")
    return response


PLUGIN = PageSpec(router)
