"""Users and the audit log, for administrators; ``/me`` and changing one's own password for anyone.

An administrator limited to some sites sees and manages only the users within its sites, and reads
only the audit events of its sites (``collector/services/users.py`` and ``audit.py`` say how).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field

from collector.api.schemas.users import AuditEventPublic, NewPassword, UserPublic
from collector.http.deps import AdminUser, DbSession, PendingUser, Principal
from collector.http.params import Id, IsoDateTime, Offset
from collector.models.core import Role, User
from collector.plugins import RouterSpec
from collector.services import audit
from collector.services import users as svc
from collector.services.devices import site_in_scope
from collector.services.errors import NotFound, ServiceError

router = APIRouter(tags=["users"])


class UserCreate(BaseModel):
    username: str = Field(min_length=1, max_length=150)
    # The rule (length, username, common passwords) is the service's, which says what is wrong.
    password: str = Field(min_length=1, max_length=1024)
    role: Role
    sites: list[str] = Field(default_factory=list)
    full_name: str | None = Field(default=None, max_length=255)
    title: str | None = Field(default=None, max_length=255)


class UserUpdate(BaseModel):
    role: Role
    sites: list[str] = Field(default_factory=list)
    full_name: str | None = Field(default=None, max_length=255)
    title: str | None = Field(default=None, max_length=255)


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


def _public(user: User, sites: list[str]) -> UserPublic:
    return UserPublic(
        id=user.id or 0,
        username=user.username,
        full_name=user.full_name,
        title=user.title,
        role=Role(user.role),
        sites=sites,
        disabled=user.disabled,
        must_change_password=user.must_change_password,
        language=user.language,
        created_at=user.created_at,
    )


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


def _fail(session: DbSession, exc: ServiceError) -> HTTPException:
    session.rollback()
    return HTTPException(exc.status_code, str(exc))


@router.get("/me", response_model=UserPublic)
def me(user: PendingUser, session: DbSession) -> UserPublic:
    row = svc.get_user(session, user.user_id)
    return _public(row, svc.user_site_codes(session, user.user_id))


@router.post("/me/password", status_code=204)
def change_my_password(
    body: PasswordChange, request: Request, user: PendingUser, session: DbSession
) -> Response:
    """Change your own password (this token stays valid; your other sessions and tokens end)."""
    try:
        svc.change_password(
            session,
            user_id=user.user_id,
            current=body.current_password,
            new=body.new_password,
            keep_session=user.session_id,
            address=_address(request),
        )
        session.commit()
    except ServiceError as exc:
        session.rollback()
        # A wrong current password is a bad request here: a 401 would read as "your token is invalid".
        raise HTTPException(400 if exc.status_code == 401 else exc.status_code, str(exc)) from None
    return Response(status_code=204)


@router.get("/users", response_model=list[UserPublic])
def list_users(user: AdminUser, session: DbSession) -> list[UserPublic]:
    return [_public(r.user, r.site_codes) for r in svc.list_users(session, actor_scope=user.site_ids)]


@router.post("/users", response_model=UserPublic, status_code=201)
def create_user(body: UserCreate, request: Request, user: AdminUser, session: DbSession) -> UserPublic:
    try:
        created = svc.create_user(
            session,
            username=body.username,
            password=body.password,
            role=body.role,
            site_codes=body.sites,
            full_name=body.full_name,
            title=body.title,
            actor=user.username,
            actor_scope=user.site_ids,
            address=_address(request),
        )
        session.commit()
    except ServiceError as exc:
        raise _fail(session, exc) from None
    return _public(created, svc.user_site_codes(session, created.id or 0))


@router.put("/users/{user_id}", response_model=UserPublic)
def update_user(
    user_id: Id, body: UserUpdate, request: Request, user: AdminUser, session: DbSession
) -> UserPublic:
    try:
        row = svc.update_user(
            session,
            user_id=user_id,
            role=body.role,
            site_codes=body.sites,
            full_name=body.full_name,
            title=body.title,
            actor=user.username,
            actor_scope=user.site_ids,
            address=_address(request),
        )
        session.commit()
    except ServiceError as exc:
        raise _fail(session, exc) from None
    return _public(row, svc.user_site_codes(session, user_id))


@router.post("/users/{user_id}/disable", response_model=UserPublic)
def disable_user(user_id: Id, request: Request, user: AdminUser, session: DbSession) -> UserPublic:
    return _set_disabled(user_id, request, user, session, disabled=True)


@router.post("/users/{user_id}/enable", response_model=UserPublic)
def enable_user(user_id: Id, request: Request, user: AdminUser, session: DbSession) -> UserPublic:
    return _set_disabled(user_id, request, user, session, disabled=False)


def _set_disabled(
    user_id: int, request: Request, actor: Principal, session: Any, *, disabled: bool
) -> UserPublic:
    try:
        row = svc.set_disabled(
            session,
            user_id=user_id,
            disabled=disabled,
            actor=actor.username,
            actor_scope=actor.site_ids,
            address=_address(request),
        )
        session.commit()
    except ServiceError as exc:
        raise _fail(session, exc) from None
    return _public(row, svc.user_site_codes(session, user_id))


@router.post("/users/{user_id}/reset-password", response_model=NewPassword)
def reset_password(
    user_id: Id, request: Request, response: Response, user: AdminUser, session: DbSession
) -> NewPassword:
    """A generated one-time password, returned once; the user's sessions and tokens end, and the user
    must choose a new password at the next login."""
    try:
        target = svc.get_user(session, user_id, actor_scope=user.site_ids)
        password = svc.reset_password(
            session,
            user_id=user_id,
            actor=user.username,
            actor_scope=user.site_ids,
            address=_address(request),
            keep_session=user.session_id,
        )
        session.commit()
    except ServiceError as exc:
        raise _fail(session, exc) from None
    response.headers["Cache-Control"] = "no-store"
    return NewPassword(username=target.username, password=password)


@router.get("/audit", response_model=list[AuditEventPublic])
def audit_events(
    response: Response,
    user: AdminUser,
    session: DbSession,
    actor: str | None = None,
    action: str | None = None,
    address: str | None = None,
    target: str | None = None,
    site: str | None = Query(None, description="Only events concerning this site (code)"),
    since: IsoDateTime | None = None,
    until: IsoDateTime | None = None,
    limit: int = Query(100, ge=1, le=1000),
    offset: Offset = 0,
) -> list[AuditEventPublic]:
    """Newest first; ``X-Total-Count`` says how many match. An administrator limited to some sites
    reads only the events of its sites."""
    site_id = None
    if site:
        try:
            site_id = site_in_scope(session, site, scope=user.site_ids).id
        except NotFound as exc:
            raise HTTPException(404, str(exc)) from None
    page = audit.query(
        session,
        scope=user.site_ids,
        actor=actor,
        action=action,
        address=address,
        target=target,
        site_id=site_id,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
    response.headers["X-Total-Count"] = str(page.total)
    return [
        AuditEventPublic(
            id=e.id or 0,
            at=e.at,
            actor=e.actor,
            action=e.action,
            target=e.target,
            address=e.address,
            count=e.count,
            detail=e.detail,
        )
        for e in page.events
    ]


PLUGIN = RouterSpec(router)
