"""Administration pages: users (add, edit, disable, reset password), enroll secrets, the audit log."""

from __future__ import annotations

import math
from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response

from collector.api.deps import AdminUser, DbSession
from collector.api.params import Id
from collector.models.core import Role
from collector.services import audit, console
from collector.services.devices import list_sites
from collector.services.enrollment import create_enroll_secret, revoke_enroll_secret
from collector.services.errors import Conflict, NotFound, ServiceError
from collector.services.users import (
    MIN_PASSWORD_LENGTH,
    create_user,
    get_user,
    list_users,
    reset_password,
    set_disabled,
    update_user,
    user_site_codes,
)
from collector.web.i18n import LOCAL_TZ, parse_user_date
from collector.web.setup import client_address, flash, redirect, render, request_language, translator_for

router = APIRouter(include_in_schema=False)

NAV = [
    (90, "Users", "/admin/users", ("admin",)),
    (91, "Enroll secrets", "/admin/enroll-secrets", ("admin",)),
    (92, "Audit log", "/admin/audit", ("admin",)),
]
AUDIT_PAGE_SIZE = 50
ROLES = [r.value for r in Role]


def _no_store(response: Response) -> Response:
    # Pages showing a secret once must not be kept by the browser or a proxy.
    response.headers["Cache-Control"] = "no-store"
    return response


def _sites(session: Any) -> list[Any]:
    return [r.site for r in list_sites(session, scope=None)]


# --- users --------------------------------------------------------------------------------------


def _users_page(
    request: Request,
    session: Any,
    *,
    error: str | None = None,
    form: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "admin/users.html",
        {
            "users": list_users(session),
            "sites": _sites(session),
            "roles": ROLES,
            "error": error,
            "form": form or {},
            "min_password": MIN_PASSWORD_LENGTH,
        },
        status_code=status,
    )


@router.get("/admin/users")
def users_page(request: Request, user: AdminUser, session: DbSession) -> Response:
    return _users_page(request, session)


@router.post("/admin/users")
def add_user(
    request: Request,
    user: AdminUser,
    session: DbSession,
    username: str = Form("", max_length=150),
    full_name: str = Form("", max_length=255),
    role: str = Form(""),
    password: str = Form("", max_length=1024),
    sites: list[str] = Form(default_factory=list),
) -> Response:
    _ = translator_for(request)
    form = {"username": username, "full_name": full_name, "role": role, "sites": sites}
    error = None
    if not username.strip():
        error = _("Enter a username.")
    elif role not in ROLES:
        error = _("Choose a role.")
    elif len(password) < MIN_PASSWORD_LENGTH:
        error = _("The password must have at least %(n)s characters.", n=MIN_PASSWORD_LENGTH)
    if error is None:
        try:
            create_user(
                session,
                username=username,
                password=password,
                role=role,
                site_codes=sites,
                full_name=full_name.strip() or None,
                actor=user.username,
                address=client_address(request),
            )
            session.commit()
        except Conflict:
            session.rollback()
            error = _("A user with this username already exists.")
        except ServiceError as exc:
            session.rollback()
            error = str(exc)
    if error is not None:
        return _users_page(request, session, error=error, form=form, status=400)
    return flash(redirect("/admin/users"), _("User %(name)s was added.", name=username.strip()), "ok")


def _user_or_404(session: Any, user_id: int) -> Any:
    try:
        return get_user(session, user_id)
    except NotFound:
        raise HTTPException(404) from None


@router.get("/admin/users/{user_id}")
def user_page(request: Request, user_id: Id, user: AdminUser, session: DbSession) -> Response:
    target = _user_or_404(session, user_id)
    return render(
        request,
        "admin/user_edit.html",
        {
            "target": target,
            "target_sites": user_site_codes(session, user_id),
            "sites": _sites(session),
            "roles": ROLES,
            "is_self": target.username == user.username,
        },
    )


@router.post("/admin/users/{user_id}")
def edit_user(
    request: Request,
    user_id: Id,
    user: AdminUser,
    session: DbSession,
    role: str = Form(""),
    full_name: str = Form("", max_length=255),
    sites: list[str] = Form(default_factory=list),
) -> Response:
    _ = translator_for(request)
    target = _user_or_404(session, user_id)
    try:
        update_user(
            session,
            user_id=user_id,
            role=role,
            site_codes=sites,
            full_name=full_name.strip() or None,
            actor=user.username,
            address=client_address(request),
        )
        session.commit()
    except ServiceError:
        session.rollback()
        message = _(
            "The changes were not saved: you cannot change your own role, and the role must be valid."
        )
        return flash(redirect(f"/admin/users/{user_id}"), message, "error")
    return flash(redirect("/admin/users"), _("User %(name)s was updated.", name=target.username), "ok")


@router.post("/admin/users/{user_id}/disable")
def disable_user(request: Request, user_id: Id, user: AdminUser, session: DbSession) -> Response:
    return _set_disabled(request, user_id, user.username, session, disabled=True)


@router.post("/admin/users/{user_id}/enable")
def enable_user(request: Request, user_id: Id, user: AdminUser, session: DbSession) -> Response:
    return _set_disabled(request, user_id, user.username, session, disabled=False)


def _set_disabled(request: Request, user_id: int, actor: str, session: Any, *, disabled: bool) -> Response:
    _ = translator_for(request)
    target = _user_or_404(session, user_id)
    try:
        set_disabled(
            session, user_id=user_id, disabled=disabled, actor=actor, address=client_address(request)
        )
        session.commit()
    except ServiceError:
        session.rollback()
        return flash(redirect("/admin/users"), _("You cannot disable your own account."), "error")
    message = (
        _("User %(name)s was disabled and logged out everywhere.", name=target.username)
        if disabled
        else _("User %(name)s was enabled.", name=target.username)
    )
    return flash(redirect("/admin/users"), message, "ok")


@router.post("/admin/users/{user_id}/reset-password")
def reset_user_password(request: Request, user_id: Id, user: AdminUser, session: DbSession) -> Response:
    target = _user_or_404(session, user_id)
    password = reset_password(
        session,
        user_id=user_id,
        actor=user.username,
        address=client_address(request),
        keep_session=user.session_id,
    )
    session.commit()
    # Shown once, on this response only: the database keeps its argon2 hash.
    return _no_store(render(request, "admin/password_shown.html", {"target": target, "password": password}))


# --- enroll secrets -----------------------------------------------------------------------------


def _secrets_page(
    request: Request,
    session: Any,
    *,
    created: dict[str, Any] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "admin/enroll_secrets.html",
        {
            "secrets": console.list_enroll_secrets(session),
            "sites": _sites(session),
            "created": created,
            "error": error,
        },
        status_code=status,
    )


@router.get("/admin/enroll-secrets")
def secrets_page(request: Request, user: AdminUser, session: DbSession) -> Response:
    return _secrets_page(request, session)


@router.post("/admin/enroll-secrets")
def create_secret(
    request: Request,
    user: AdminUser,
    session: DbSession,
    site: str = Form(""),
    label: str = Form("", max_length=255),
    valid_days: str = Form(""),
) -> Response:
    _ = translator_for(request)
    days: int | None = None
    if valid_days.strip():
        if not valid_days.strip().isdigit() or not 1 <= int(valid_days) <= 3650:
            return _secrets_page(
                request, session, error=_("Validity must be 1 to 3650 days, or empty."), status=400
            )
        days = int(valid_days)
    try:
        secret = create_enroll_secret(
            session, site_code=site, label=label.strip() or None, created_by=user.username, valid_days=days
        )
        session.commit()
    except NotFound:
        session.rollback()
        return _secrets_page(request, session, error=_("Choose a site."), status=400)
    return _no_store(_secrets_page(request, session, created={"secret": secret, "site": site}))


@router.post("/admin/enroll-secrets/{secret_id}/revoke")
def revoke_secret(request: Request, secret_id: Id, user: AdminUser, session: DbSession) -> Response:
    _ = translator_for(request)
    try:
        console.get_enroll_secret(session, secret_id)
    except NotFound:
        raise HTTPException(404) from None
    revoke_enroll_secret(session, secret_id, actor=user.username)
    session.commit()
    return flash(redirect("/admin/enroll-secrets"), _("The enroll secret was revoked."), "ok")


# --- audit log ----------------------------------------------------------------------------------


@router.get("/admin/audit")
def audit_page(
    request: Request,
    user: AdminUser,
    session: DbSession,
    actor: str = "",
    action: str = "",
    address: str = "",
    target: str = "",
    since: str = "",
    until: str = "",
    page: int = 1,
) -> Response:
    # Days are the user's calendar days in Vietnam time; "until" includes that whole day.
    start, end = parse_user_date(since), parse_user_date(until)
    bad_date = (since.strip() and start is None) or (until.strip() and end is None)
    since_at = datetime.combine(start, time(), LOCAL_TZ) if start else None
    until_at = datetime.combine(end, time(), LOCAL_TZ) + timedelta(days=1) if end else None
    page = max(1, page)
    result = audit.query(
        session,
        actor=actor.strip() or None,
        action=action.strip() or None,
        address=address.strip() or None,
        target=target.strip() or None,
        since=since_at,
        until=until_at,
        limit=AUDIT_PAGE_SIZE,
        offset=(page - 1) * AUDIT_PAGE_SIZE,
    )
    filters = {
        "actor": actor,
        "action": action,
        "address": address,
        "target": target,
        "since": since,
        "until": until,
    }
    return render(
        request,
        "admin/audit.html",
        {
            "events": result.events,
            "total": result.total,
            "page": page,
            "pages": max(1, math.ceil(result.total / AUDIT_PAGE_SIZE)),
            "filters": filters,
            "params": urlencode({k: v for k, v in filters.items() if v}),
            "actions": audit.known_actions(session),
            "bad_date": bool(bad_date),
            "date_hint": "dd/mm/yyyy" if request_language(request) == "vi" else "yyyy-mm-dd",
        },
    )
