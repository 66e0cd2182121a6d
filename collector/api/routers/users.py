"""Users and the audit log, for administrators; ``/me`` for anyone logged in."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field

from collector.api.deps import AdminUser, AnyUser, DbSession
from collector.api.params import Id, IsoDateTime, Offset
from collector.models.core import Role, User
from collector.services import audit
from collector.services import users as svc
from collector.services.errors import ServiceError

router = APIRouter(tags=["users"])


class UserPublic(BaseModel):
    id: int
    username: str
    full_name: str | None
    role: Role
    sites: list[str]  # empty: every site
    disabled: bool
    locked: bool
    language: str | None
    created_at: datetime


class UserCreate(BaseModel):
    username: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=svc.MIN_PASSWORD_LENGTH, max_length=1024)
    role: Role
    sites: list[str] = Field(default_factory=list)
    full_name: str | None = Field(default=None, max_length=255)


class UserUpdate(BaseModel):
    role: Role
    sites: list[str] = Field(default_factory=list)
    full_name: str | None = Field(default=None, max_length=255)


class NewPassword(BaseModel):
    username: str
    password: str


class AuditEventPublic(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    target: str | None
    address: str | None
    detail: dict[str, Any] | None


def _public(user: User, sites: list[str]) -> UserPublic:
    return UserPublic(
        id=user.id or 0,
        username=user.username,
        full_name=user.full_name,
        role=Role(user.role),
        sites=sites,
        disabled=user.disabled,
        locked=svc.is_locked(user),
        language=user.language,
        created_at=user.created_at,
    )


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


def _fail(session: DbSession, exc: ServiceError) -> HTTPException:
    session.rollback()
    return HTTPException(exc.status_code, str(exc))


@router.get("/me", response_model=UserPublic)
def me(user: AnyUser, session: DbSession) -> UserPublic:
    row = svc.get_user(session, user.user_id)
    return _public(row, svc.user_site_codes(session, user.user_id))


@router.get("/users", response_model=list[UserPublic])
def list_users(user: AdminUser, session: DbSession) -> list[UserPublic]:
    return [_public(r.user, r.site_codes) for r in svc.list_users(session)]


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
            actor=user.username,
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
            actor=user.username,
            address=_address(request),
        )
        session.commit()
    except ServiceError as exc:
        raise _fail(session, exc) from None
    return _public(row, svc.user_site_codes(session, user_id))


@router.post("/users/{user_id}/disable", response_model=UserPublic)
def disable_user(user_id: Id, request: Request, user: AdminUser, session: DbSession) -> UserPublic:
    return _set_disabled(user_id, request, user.username, session, disabled=True)


@router.post("/users/{user_id}/enable", response_model=UserPublic)
def enable_user(user_id: Id, request: Request, user: AdminUser, session: DbSession) -> UserPublic:
    return _set_disabled(user_id, request, user.username, session, disabled=False)


def _set_disabled(user_id: int, request: Request, actor: str, session: Any, *, disabled: bool) -> UserPublic:
    try:
        row = svc.set_disabled(
            session, user_id=user_id, disabled=disabled, actor=actor, address=_address(request)
        )
        session.commit()
    except ServiceError as exc:
        raise _fail(session, exc) from None
    return _public(row, svc.user_site_codes(session, user_id))


@router.post("/users/{user_id}/reset-password", response_model=NewPassword)
def reset_password(
    user_id: Id, request: Request, response: Response, user: AdminUser, session: DbSession
) -> NewPassword:
    """A generated password, returned once; the user's sessions and tokens end."""
    try:
        target = svc.get_user(session, user_id)
        password = svc.reset_password(
            session,
            user_id=user_id,
            actor=user.username,
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
    since: IsoDateTime | None = None,
    until: IsoDateTime | None = None,
    limit: int = Query(100, ge=1, le=1000),
    offset: Offset = 0,
) -> list[AuditEventPublic]:
    """Newest first; ``X-Total-Count`` says how many match the filters."""
    page = audit.query(
        session,
        actor=actor,
        action=action,
        address=address,
        target=target,
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
            detail=e.detail,
        )
        for e in page.events
    ]
