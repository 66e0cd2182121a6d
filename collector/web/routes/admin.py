"""Administration pages: users (add, edit, disable, reset password), enroll secrets, the audit log.

An administrator limited to some sites sees and manages only what belongs to its sites: users whose
scope lies within its own, its sites' enroll secrets, the audit events of its sites.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response

from collector.http.deps import AdminUser, DbSession, Principal
from collector.http.params import Id
from collector.models.core import Role
from collector.plugins import Link, PageSpec
from collector.services import console
from collector.services.devices import list_sites, site_to_change
from collector.services.enrollment import DEFAULT_VALID_DAYS, create_enroll_secret, revoke_enroll_secret
from collector.services.errors import Conflict, Forbidden, NotFound, ServiceError
from collector.services.passwords import PasswordRejected
from collector.services.tables.audit import TABLE as AUDIT
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
from collector.web.routes.account import password_problem
from collector.web.setup import client_address, flash, redirect, render, request_language, translator_for
from collector.web.tables import table_view

router = APIRouter(include_in_schema=False)

AUDIT_PAGE_SIZE = 50
ROLES = [r.value for r in Role]


def _no_store(response: Response) -> Response:
    # Pages showing a secret once must not be kept by the browser or a proxy.
    response.headers["Cache-Control"] = "no-store"
    return response


def _sites(session: Any, user: Principal) -> list[Any]:
    """The sites this administrator may grant or name: its own."""
    return [r.site for r in list_sites(session, scope=user.site_ids)]


# --- users --------------------------------------------------------------------------------------


def _users_page(
    request: Request,
    session: Any,
    user: Principal,
    *,
    error: str | None = None,
    form: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "admin/users.html",
        {
            "users": list_users(session, actor_scope=user.site_ids),
            "sites": _sites(session, user),
            "city_wide": user.city_wide,
            "roles": ROLES,
            "error": error,
            "form": form or {},
            "min_password": MIN_PASSWORD_LENGTH,
        },
        status_code=status,
    )


@router.get("/admin/users")
def users_page(request: Request, user: AdminUser, session: DbSession) -> Response:
    return _users_page(request, session, user)


@router.post("/admin/users")
def add_user(
    request: Request,
    user: AdminUser,
    session: DbSession,
    username: str = Form("", max_length=150),
    full_name: str = Form("", max_length=255),
    title: str = Form("", max_length=255),
    role: str = Form(""),
    password: str = Form("", max_length=1024),
    sites: list[str] = Form(default_factory=list),
) -> Response:
    _ = translator_for(request)
    form = {"username": username, "full_name": full_name, "title": title, "role": role, "sites": sites}
    error, status = None, 400
    if not username.strip():
        error = _("Enter a username.")
    elif role not in ROLES:
        error = _("Choose a role.")
    elif not user.city_wide and not sites:
        error, status = _("Choose at least one of your sites."), 403
    if error is None:
        try:
            create_user(
                session,
                username=username,
                password=password,
                role=role,
                site_codes=sites,
                full_name=full_name.strip() or None,
                title=title.strip() or None,
                actor=user.username,
                actor_scope=user.site_ids,
                address=client_address(request),
            )
            session.commit()
        except Conflict:
            session.rollback()
            error = _("A user with this username already exists.")
        except PasswordRejected as exc:
            session.rollback()
            error = password_problem(request, exc)
        except Forbidden:
            session.rollback()
            error, status = _("You may grant only your own sites."), 403
        except ServiceError as exc:
            session.rollback()
            error = exc.text(request_language(request))
    if error is not None:
        return _users_page(request, session, user, error=error, form=form, status=status)
    return flash(redirect("/admin/users"), _("User %(name)s was added.", name=username.strip()), "ok")


def _user_or_404(session: Any, user_id: int, actor: Principal) -> Any:
    """A user this administrator manages; any other looks exactly like a missing one."""
    try:
        return get_user(session, user_id, actor_scope=actor.site_ids)
    except NotFound:
        raise HTTPException(404) from None


@router.get("/admin/users/{user_id}")
def user_page(request: Request, user_id: Id, user: AdminUser, session: DbSession) -> Response:
    target = _user_or_404(session, user_id, user)
    return render(
        request,
        "admin/user_edit.html",
        {
            "target": target,
            "target_sites": user_site_codes(session, user_id),
            "sites": _sites(session, user),
            "city_wide": user.city_wide,
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
    title: str = Form("", max_length=255),
    sites: list[str] = Form(default_factory=list),
) -> Response:
    _ = translator_for(request)
    target = _user_or_404(session, user_id, user)
    try:
        update_user(
            session,
            user_id=user_id,
            role=role,
            site_codes=sites,
            full_name=full_name.strip() or None,
            title=title.strip() or None,
            actor=user.username,
            actor_scope=user.site_ids,
            address=client_address(request),
        )
        session.commit()
    except Forbidden:
        session.rollback()
        raise HTTPException(403) from None  # the form offers only the administrator's own sites
    except ServiceError:
        session.rollback()
        message = _(
            "The changes were not saved: you cannot change your own role, and the role must be valid."
        )
        return flash(redirect(f"/admin/users/{user_id}"), message, "error")
    return flash(redirect("/admin/users"), _("User %(name)s was updated.", name=target.username), "ok")


@router.post("/admin/users/{user_id}/disable")
def disable_user(request: Request, user_id: Id, user: AdminUser, session: DbSession) -> Response:
    return _set_disabled(request, user_id, user, session, disabled=True)


@router.post("/admin/users/{user_id}/enable")
def enable_user(request: Request, user_id: Id, user: AdminUser, session: DbSession) -> Response:
    return _set_disabled(request, user_id, user, session, disabled=False)


def _set_disabled(
    request: Request, user_id: int, actor: Principal, session: Any, *, disabled: bool
) -> Response:
    _ = translator_for(request)
    target = _user_or_404(session, user_id, actor)
    try:
        set_disabled(
            session,
            user_id=user_id,
            disabled=disabled,
            actor=actor.username,
            actor_scope=actor.site_ids,
            address=client_address(request),
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
    target = _user_or_404(session, user_id, user)
    password = reset_password(
        session,
        user_id=user_id,
        actor=user.username,
        actor_scope=user.site_ids,
        address=client_address(request),
        keep_session=user.session_id,
    )
    session.commit()
    # Shown once, on this response only: the database keeps its argon2 hash.
    return _no_store(render(request, "admin/password_shown.html", {"target": target, "password": password}))


# --- enroll secrets -----------------------------------------------------------------------------


def collector_url(request: Request) -> str:
    """Where agents reach this collector: the configured public URL, else what this browser used."""
    configured = getattr(request.app.state.settings, "public_url", None)
    return (configured or str(request.base_url)).rstrip("/")


def _secrets_page(
    request: Request,
    session: Any,
    user: Principal,
    *,
    created: dict[str, Any] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "admin/enroll_secrets.html",
        {
            "secrets": console.list_enroll_secrets(session, scope=user.site_ids),
            "sites": _sites(session, user),
            "created": created,
            "error": error,
            "collector_url": collector_url(request),
        },
        status_code=status,
    )


@router.get("/admin/enroll-secrets")
def secrets_page(request: Request, user: AdminUser, session: DbSession) -> Response:
    return _secrets_page(request, session, user)


@router.post("/admin/enroll-secrets")
def create_secret(
    request: Request,
    user: AdminUser,
    session: DbSession,
    site: str = Form(""),
    label: str = Form("", max_length=255),
    valid_days: str = Form(""),
    max_uses: str = Form(""),
) -> Response:
    _ = translator_for(request)
    days, uses = _whole(valid_days, 1, 3650, DEFAULT_VALID_DAYS), _whole(max_uses, 1, 100_000, None)
    if days is False:
        return _secrets_page(request, session, user, error=_("Validity must be 1 to 3650 days."), status=400)
    if uses is False:
        return _secrets_page(
            request, session, user, error=_("The number of uses must be 1 to 100000, or empty."), status=400
        )
    try:
        site_to_change(session, site, scope=user.site_ids)
        secret = create_enroll_secret(
            session,
            site_code=site,
            label=label.strip() or None,
            created_by=user.username,
            valid_days=days,
            max_uses=uses,
        )
        session.commit()
    except NotFound:
        session.rollback()
        return _secrets_page(request, session, user, error=_("Choose a site."), status=400)
    except Forbidden:
        session.rollback()
        return _secrets_page(request, session, user, error=_("Choose one of your sites."), status=403)
    return _no_store(_secrets_page(request, session, user, created={"secret": secret, "site": site}))


def _whole(text: str, low: int, high: int, empty: int | None) -> Any:
    """A whole number from a form field within [low, high]; ``empty`` when blank; False when wrong."""
    text = text.strip()
    if not text:
        return empty
    return int(text) if text.isdigit() and low <= int(text) <= high else False


@router.post("/admin/enroll-secrets/{secret_id}/revoke")
def revoke_secret(request: Request, secret_id: Id, user: AdminUser, session: DbSession) -> Response:
    _ = translator_for(request)
    try:
        console.get_enroll_secret(session, secret_id, scope=user.site_ids)
    except NotFound:
        raise HTTPException(404) from None
    revoke_enroll_secret(session, secret_id, actor=user.username)
    session.commit()
    return flash(redirect("/admin/enroll-secrets"), _("The enroll secret was revoked."), "ok")


# --- audit log ----------------------------------------------------------------------------------


@router.get("/admin/audit")
def audit_page(request: Request, user: AdminUser, session: DbSession) -> Response:
    view, status = table_view(request, session, user, AUDIT, path="/admin/audit", export_name="audit")
    return render(request, "admin/audit.html", {"v": view}, status_code=status)


PLUGIN = PageSpec(
    router,
    nav=(
        Link(90, "Users", "/admin/users"),
        Link(91, "Enroll secrets", "/admin/enroll-secrets"),
        Link(92, "Audit log", "/admin/audit"),
    ),
)
