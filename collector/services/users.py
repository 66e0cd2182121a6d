"""Users, their site scope, and their sessions (web cookies and API bearer tokens)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func
from sqlmodel import Session, col, delete, select

from collector.models.core import AuditEvent, AuthSession, Role, Site, User, UserSite
from collector.models.types import utcnow
from collector.security import hash_password, new_password, new_token, token_hash, verify_password
from collector.services.audit import record
from collector.services.errors import Conflict, NotFound, ServiceError, Unauthorized

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 8
# One address guessing across many usernames is throttled too (the per-user lockout alone would
# let it try 4 passwords on every account).
MAX_FAILED_PER_ADDRESS = 30
ADDRESS_WINDOW = timedelta(minutes=15)


def _check_full_name(full_name: str | None) -> None:
    # The column holds 255 characters; PostgreSQL refuses more with an error naming no field.
    if full_name and len(full_name) > 255:
        raise ServiceError(f"the full name is {len(full_name)} characters; at most 255")


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: Role | str,
    site_codes: list[str] | None = None,
    full_name: str | None = None,
    actor: str = "system",
    address: str | None = None,
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
    _check_full_name(full_name)
    if session.exec(select(User).where(User.username == username)).first():
        raise Conflict(f"user {username} already exists")
    user = User(
        username=username, password_hash=hash_password(password), role=role.value, full_name=full_name
    )
    session.add(user)
    session.flush()
    set_site_scope(session, user, site_codes or [])
    record(
        session,
        actor=actor,
        action="user.create",
        target=username,
        address=address,
        detail={"role": role.value, "sites": sorted(site_codes or [])},
    )
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
    if "\x00" in username:
        # No user has such a name, and no database stores it (PostgreSQL refuses NUL in text).
        username = username.replace("\x00", "\ufffd")
        user = None
    else:
        user = session.exec(select(User).where(User.username == username)).first()
    now = utcnow()
    if address is not None and _recent_failures(session, address) >= MAX_FAILED_PER_ADDRESS:
        verify_password(None, password)
        record(session, actor=username[:150], action="login.throttled", address=address)
        raise Unauthorized("too many failed logins from this address; try again later")
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


def _recent_failures(session: Session, address: str) -> int:
    since = utcnow() - ADDRESS_WINDOW
    q = select(func.count(col(AuditEvent.id))).where(
        AuditEvent.action == "login.failed", AuditEvent.address == address, col(AuditEvent.at) > since
    )
    return int(session.exec(q).one())


def is_locked(user: User) -> bool:
    return user.locked_until is not None and user.locked_until > utcnow()


@dataclass
class UserRow:
    user: User
    site_codes: list[str]

    @property
    def locked(self) -> bool:
        return is_locked(self.user)


def list_users(session: Session) -> list[UserRow]:
    users = session.exec(select(User).order_by(User.username)).all()
    scopes: dict[int, list[str]] = {}
    q = select(UserSite.user_id, Site.code).join(Site, col(Site.id) == col(UserSite.site_id))
    for user_id, code in session.exec(q).all():
        scopes.setdefault(user_id, []).append(code)
    return [UserRow(u, sorted(scopes.get(u.id or 0, []))) for u in users]


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


def user_site_codes(session: Session, user_id: int) -> list[str]:
    q = (
        select(Site.code)
        .join(UserSite, col(Site.id) == col(UserSite.site_id))
        .where(UserSite.user_id == user_id)
    )
    return sorted(session.exec(q).all())


def end_user_sessions(session: Session, user_id: int, *, keep: int | None = None) -> None:
    """Log a user out everywhere (web sessions and API tokens), except the session ``keep``."""
    q = delete(AuthSession).where(AuthSession.user_id == user_id)  # type: ignore[arg-type]
    if keep is not None:
        q = q.where(AuthSession.id != keep)  # type: ignore[arg-type]
    session.exec(q)  # type: ignore[call-overload]


def set_disabled(
    session: Session, *, user_id: int, disabled: bool, actor: str, address: str | None = None
) -> User:
    """Disable (and log out everywhere) or re-enable a user. Nobody disables their own account."""
    user = get_user(session, user_id)
    if disabled and user.username == actor:
        raise Conflict("you cannot disable your own account")
    user.disabled = disabled
    if not disabled:
        user.failed_logins, user.locked_until = 0, None
    session.add(user)
    if disabled:
        end_user_sessions(session, user_id)
    record(
        session,
        actor=actor,
        action="user.disable" if disabled else "user.enable",
        target=user.username,
        address=address,
    )
    session.flush()
    return user


def reset_password(
    session: Session,
    *,
    user_id: int,
    actor: str,
    address: str | None = None,
    password: str | None = None,
    keep_session: int | None = None,
) -> str:
    """Set a new password (a generated one unless given), lift a lockout, end the user's sessions
    (but ``keep_session``: an administrator resetting their own password stays logged in there).

    Returns the new password: the caller shows it once; only its argon2 hash is kept.
    """
    user = get_user(session, user_id)
    password = password or new_password()
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ServiceError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    user.password_hash = hash_password(password)
    user.failed_logins, user.locked_until = 0, None
    session.add(user)
    end_user_sessions(session, user_id, keep=keep_session)
    record(session, actor=actor, action="user.reset_password", target=user.username, address=address)
    session.flush()
    return password


def update_user(
    session: Session,
    *,
    user_id: int,
    role: Role | str,
    site_codes: list[str],
    full_name: str | None = None,
    actor: str,
    address: str | None = None,
) -> User:
    """Change a user's role, site scope and name. An admin cannot demote themself (no lock-out)."""
    user = get_user(session, user_id)
    try:
        role = Role(role)
    except ValueError:
        raise ServiceError(f"unknown role {role!r}; roles: {', '.join(r.value for r in Role)}") from None
    if user.username == actor and role != Role(user.role):
        raise Conflict("you cannot change your own role")
    _check_full_name(full_name)
    user.role = role.value
    user.full_name = full_name or None
    session.add(user)
    set_site_scope(session, user, site_codes)
    record(
        session,
        actor=actor,
        action="user.update",
        target=user.username,
        address=address,
        detail={"role": role.value, "sites": sorted(site_codes)},
    )
    return user


def set_language(session: Session, user_id: int, language: str) -> None:
    user = session.get(User, user_id)
    if user is not None and user.language != language:
        user.language = language
        session.add(user)
