"""Users, their site scope, and their sessions (web cookies and API bearer tokens)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlmodel import Session, delete, select

from collector.models.core import AuthSession, Role, Site, User, UserSite
from collector.models.types import utcnow
from collector.security import hash_password, new_token, token_hash, verify_password
from collector.services.audit import record
from collector.services.errors import Conflict, NotFound, ServiceError, Unauthorized

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 8


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: Role | str,
    site_codes: list[str] | None = None,
    full_name: str | None = None,
    actor: str = "system",
) -> User:
    username = username.strip()
    if not username or len(username) > 150:
        raise ServiceError("a username of 1-150 characters is required")
    try:
        role = Role(role)
    except ValueError:
        raise ServiceError(f"unknown role {role!r}; roles: {', '.join(r.value for r in Role)}") from None
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ServiceError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if session.exec(select(User).where(User.username == username)).first():
        raise Conflict(f"user {username} already exists")
    user = User(
        username=username, password_hash=hash_password(password), role=role.value, full_name=full_name
    )
    session.add(user)
    session.flush()
    set_site_scope(session, user, site_codes or [])
    record(session, actor=actor, action="user.create", target=username, detail={"role": role.value})
    return user


def set_site_scope(session: Session, user: User, site_codes: list[str]) -> None:
    session.exec(delete(UserSite).where(UserSite.user_id == user.id))  # type: ignore[call-overload]
    for code in site_codes:
        site = session.exec(select(Site).where(Site.code == code)).first()
        if site is None:
            raise NotFound(f"no site with code {code!r}")
        session.add(UserSite(user_id=user.id or 0, site_id=site.id or 0))
    session.flush()


def authenticate(session: Session, *, username: str, password: str, address: str | None = None) -> User:
    """The user, or ``Unauthorized`` with one message for every failure (it discloses nothing)."""
    user = session.exec(select(User).where(User.username == username)).first()
    now = utcnow()
    if user is not None and user.locked_until is not None and user.locked_until > now:
        verify_password(None, password)  # same cost as a real attempt
        record(session, actor=username, action="login.locked", address=address)
        raise Unauthorized("too many failed logins; try again later")
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or user.disabled:
        if user is not None and not user.disabled:
            user.failed_logins += 1
            if user.failed_logins >= MAX_FAILED_LOGINS:
                user.locked_until = now + LOCKOUT
                user.failed_logins = 0
            session.add(user)
        record(session, actor=username[:150], action="login.failed", address=address)
        raise Unauthorized("wrong username or password")
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)
    record(session, actor=user.username, action="login", address=address)
    return user


def create_auth_session(
    session: Session, user: User, *, kind: str, hours: int, address: str | None = None
) -> tuple[str, AuthSession]:
    token = new_token("wws" if kind == "web" else "wwt")
    row = AuthSession(
        token_hash=token_hash(token),
        user_id=user.id or 0,
        kind=kind,
        csrf_token=secrets.token_urlsafe(24) if kind == "web" else None,
        expires_at=utcnow() + timedelta(hours=hours),
        address=address,
    )
    session.add(row)
    session.flush()
    return token, row


def end_auth_session(session: Session, session_id: int) -> None:
    row = session.get(AuthSession, session_id)
    if row is not None:
        session.delete(row)
