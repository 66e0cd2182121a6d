"""The logged-in user's own account: changing their password (also the page a one-time password leads to)."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from collector.http.deps import DbSession, PendingUser
from collector.plugins import PageSpec
from collector.services.errors import Unauthorized
from collector.services.passwords import MIN_LENGTH, PasswordRejected
from collector.services.users import change_password
from collector.web.setup import (
    client_address,
    flash,
    redirect,
    render,
    request_language,
    safe_next,
    translator_for,
)

router = APIRouter(include_in_schema=False)


def password_problem(request: Request, exc: PasswordRejected) -> str:
    """The password rule's refusal in the page's language."""
    _ = translator_for(request)
    messages = {
        "too_short": _("The password must have at least %(n)s characters.", n=MIN_LENGTH),
        "too_long": _("The password is too long."),
        "username": _("The password must not contain the username."),
        "common": _("This password is too common: attackers try it first. Choose another one."),
        "same": _("The new password must differ from the current one."),
    }
    return messages.get(exc.code) or exc.text(request_language(request))


def _page(
    request: Request, user: PendingUser, *, next_url: str, error: str | None, status: int = 200
) -> Response:
    context = {
        "next": next_url,
        "error": error,
        "forced": user.must_change_password,
        "min_password": MIN_LENGTH,
    }
    response = render(request, "account_password.html", context, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/account/password")
def password_page(request: Request, user: PendingUser, next: str = "/") -> Response:
    return _page(request, user, next_url=safe_next(next), error=None)


@router.post("/account/password")
def password_change(
    request: Request,
    user: PendingUser,
    session: DbSession,
    current_password: str = Form("", max_length=1024),
    new_password: str = Form("", max_length=1024),
    confirm_password: str = Form("", max_length=1024),
    next: str = Form("/"),
) -> Response:
    _ = translator_for(request)
    target = safe_next(next)
    error = None
    if new_password != confirm_password:
        error = _("The two new passwords differ.")
    else:
        try:
            change_password(
                session,
                user_id=user.user_id,
                current=current_password,
                new=new_password,
                keep_session=user.session_id,
                address=client_address(request),
            )
            session.commit()
        except Unauthorized:
            session.rollback()
            error = _("The current password is wrong.")
        except PasswordRejected as exc:
            session.rollback()
            error = password_problem(request, exc)
    if error is not None:
        return _page(request, user, next_url=target, error=error, status=400)
    return flash(redirect(target), _("Your password was changed."), "ok")


PLUGIN = PageSpec(router)
