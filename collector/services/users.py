"""Users, their site scope, and their sessions (web cookies and API bearer tokens).

Administration is confined: an administrator limited to some sites (``actor_scope``) manages only the
users whose scope lies within its own, grants only sites of its own, and never sees or touches a user
of another site or an unscoped (city-wide) user; to it such a user does not exist (404). Granting a
site beyond its own is refused (403) without looking the code up, so the refusal reveals nothing.
An administrator holds the highest role, so a scoped one may create administrators of its own sites:
the same privilege, never more.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, col, delete, select

from collector.models.core import AuthSession, Role, Site, User, UserSite
from collector.models.types import utcnow
from collector.security import hash_password, new_token, token_hash, verify_password
from collector.services import throttle
from collector.services.audit import record
from collector.services.errors import Conflict, Forbidden, NotFound, ServiceError, Unauthorized
from collector.services.passwords import MIN_LENGTH, PasswordRejected, check_password, one_time_password

MIN_PASSWORD_LENGTH = MIN_LENGTH
Scope = Collection[int] | None  # the acting administrator's sites; None: every site (or the CLI)
WRONG_LOGIN = "wrong username or password"


def _check_full_name(full_name: str | None, title: str | None = None) -> None:
    # The columns hold 255 characters; PostgreSQL refuses more with an error naming no field.
    if full_name and len(full_name) > 255:
        raise ServiceError("the full name is %(n)s characters; at most 255", n=len(full_name))
    if title and len(title) > 255:
        raise ServiceError("the position is %(n)s characters; at most 255", n=len(title))


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise ServiceError(
            "unknown role %(role)s; roles: %(choices)s",
            role=repr(role),
            choices=", ".join(r.value for r in Role),
        ) from None


def _scope_codes(session: Session, scope: Collection[int]) -> set[str]:
    return set(session.exec(select(Site.code).where(col(Site.id).in_(list(scope)))).all())


def _grantable(session: Session, site_codes: list[str], actor_scope: Scope) -> None:
    """A scoped administrator grants only sites of its own, and never "every site" (an empty scope)."""
    if actor_scope is None:
        return
    own = _scope_codes(session, actor_scope)
    outside = sorted(set(site_codes) - own)
    if not site_codes or outside:
        raise (
            Forbidden(
                "you may grant only sites within your own scope: %(sites)s", sites=", ".join(sorted(own))
            )
            if site_codes
            else Forbidden(
                "you may grant only sites within your own scope: %(sites)s (an empty scope would mean every site)",  # noqa: E501
                sites=", ".join(sorted(own)),
            )
        )


def user_site_ids(session: Session, user_id: int) -> set[int]:
    return set(session.exec(select(UserSite.site_id).where(UserSite.user_id == user_id)).all())


def manageable(session: Session, user: User, actor_scope: Scope) -> bool:
    """May an administrator of ``actor_scope`` see and manage ``user``?"""
    if actor_scope is None:
        return True
    sites = user_site_ids(session, user.id or 0)
    return bool(sites) and sites <= set(actor_scope)


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: Role | str,
    site_codes: list[str] | None = None,
    full_name: str | None = None,
    title: str | None = None,
    actor: str = "system",
    actor_scope: Scope = None,
    address: str | None = None,
) -> User:
    username = username.strip()
    if not username or len(username) > 150:
        raise ServiceError("a username of 1-150 characters is required")
    role = _role(role)
    _grantable(session, site_codes or [], actor_scope)
    check_password(password, username=username)
    _check_full_name(full_name, title)
    if session.exec(select(User).where(User.username == username)).first():
        raise Conflict("user %(username)s already exists", username=username)
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role.value,
        full_name=full_name,
        title=title or None,
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
        sites=user_site_ids(session, user.id or 0),
    )
    return user


def set_site_scope(session: Session, user: User, site_codes: list[str]) -> None:
    session.exec(delete(UserSite).where(UserSite.user_id == user.id))
    for code in site_codes:
        site = session.exec(select(Site).where(Site.code == code)).first()
        if site is None:
            raise NotFound("no site with code %(code)s", code=repr(code))
        session.add(UserSite(user_id=user.id or 0, site_id=site.id or 0))
    session.flush()


def authenticate(session: Session, *, username: str, password: str, address: str | None = None) -> User:
    """The user; ``Unauthorized`` with one message for every failure (it discloses nothing), or
    ``throttle.TooManyAttempts`` while this username and address must wait (unknown names too)."""
    if "\x00" in username:
        # No user has such a name, and no database stores it (PostgreSQL refuses NUL in text).
        username = username.replace("\x00", "\ufffd")
    throttle.check_login(session, username=username, address=address)
    user = session.exec(select(User).where(User.username == username)).first()
    # Verified against a dummy hash when the user does not exist: a wrong username costs as long.
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or user.disabled:
        throttle.login_failed(session, username=username, address=address)
        raise Unauthorized(WRONG_LOGIN)
    throttle.login_succeeded(session, username=username, address=address)
    record(
        session,
        actor=user.username,
        action="login",
        address=address,
        sites=user_site_ids(session, user.id or 0),
    )
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


@dataclass
class UserRow:
    user: User
    site_codes: list[str]


def list_users(session: Session, *, actor_scope: Scope = None) -> list[UserRow]:
    """The users an administrator of ``actor_scope`` manages, by username."""
    users = session.exec(select(User).order_by(User.username)).all()
    scopes: dict[int, list[tuple[int, str]]] = {}
    q = select(UserSite.user_id, Site.id, Site.code).join(Site, col(Site.id) == col(UserSite.site_id))
    for user_id, site_id, code in session.exec(q).all():
        scopes.setdefault(user_id, []).append((site_id or 0, code))
    rows = []
    for u in users:
        sites = scopes.get(u.id or 0, [])
        if actor_scope is not None and not (sites and {s for s, _c in sites} <= set(actor_scope)):
            continue
        rows.append(UserRow(u, sorted(code for _s, code in sites)))
    return rows


def get_user(session: Session, user_id: int, *, actor_scope: Scope = None) -> User:
    user = session.get(User, user_id)
    if user is None or not manageable(session, user, actor_scope):
        raise NotFound("no user %(user_id)s", user_id=user_id)
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
    q = delete(AuthSession).where(AuthSession.user_id == user_id)
    if keep is not None:
        q = q.where(AuthSession.id != keep)
    session.exec(q)


def set_disabled(
    session: Session,
    *,
    user_id: int,
    disabled: bool,
    actor: str,
    actor_scope: Scope = None,
    address: str | None = None,
) -> User:
    """Disable (and log out everywhere) or re-enable a user. Nobody disables their own account."""
    user = get_user(session, user_id, actor_scope=actor_scope)
    if disabled and user.username == actor:
        raise Conflict("you cannot disable your own account")
    user.disabled = disabled
    session.add(user)
    if disabled:
        end_user_sessions(session, user_id)
    else:
        throttle.forget_user(session, username=user.username)
    record(
        session,
        actor=actor,
        action="user.disable" if disabled else "user.enable",
        target=user.username,
        address=address,
        sites=user_site_ids(session, user_id),
    )
    session.flush()
    return user


def reset_password(
    session: Session,
    *,
    user_id: int,
    actor: str,
    actor_scope: Scope = None,
    address: str | None = None,
    password: str | None = None,
    keep_session: int | None = None,
) -> str:
    """Give the user a one-time password (generated unless given) that must be changed at the next
    login; the user's throttles are forgotten and their sessions end (but ``keep_session``: an
    administrator resetting their own password stays logged in there).

    Returns the password for the caller to show once; only its argon2 hash is kept. The caller
    manages the user (``actor_scope`` covers the user's whole scope), so the password never goes to
    someone less privileged than its owner.
    """
    user = get_user(session, user_id, actor_scope=actor_scope)
    if password is None:
        password = one_time_password(username=user.username)
    else:
        check_password(password, username=user.username)
    user.password_hash = hash_password(password)
    user.must_change_password = True
    session.add(user)
    throttle.forget_user(session, username=user.username)
    end_user_sessions(session, user_id, keep=keep_session)
    record(
        session,
        actor=actor,
        action="user.reset_password",
        target=user.username,
        address=address,
        sites=user_site_ids(session, user_id),
    )
    session.flush()
    return password


def change_password(
    session: Session,
    *,
    user_id: int,
    current: str,
    new: str,
    keep_session: int | None = None,
    address: str | None = None,
) -> User:
    """A user changes their own password: the current one proves it is them. Their other sessions and
    tokens end (the one making the change stays), and a pending one-time password is done with."""
    user = session.get(User, user_id)
    if user is None or user.disabled:
        raise NotFound("no user %(user_id)s", user_id=user_id)
    if not verify_password(user.password_hash, current):
        raise Unauthorized("the current password is wrong")
    check_password(new, username=user.username)
    if new == current:
        raise PasswordRejected("same", "the new password must differ from the current one")
    user.password_hash = hash_password(new)
    user.must_change_password = False
    session.add(user)
    end_user_sessions(session, user_id, keep=keep_session)
    record(
        session,
        actor=user.username,
        action="user.change_password",
        target=user.username,
        address=address,
        sites=user_site_ids(session, user_id),
    )
    session.flush()
    return user


def update_user(
    session: Session,
    *,
    user_id: int,
    role: Role | str,
    site_codes: list[str],
    full_name: str | None = None,
    title: str | None = None,
    actor: str,
    actor_scope: Scope = None,
    address: str | None = None,
) -> User:
    """Change a user's role, site scope, name and position. An admin cannot demote themself (no lock-out)."""
    user = get_user(session, user_id, actor_scope=actor_scope)
    role = _role(role)
    if user.username == actor and role != Role(user.role):
        raise Conflict("you cannot change your own role")
    _grantable(session, site_codes, actor_scope)
    _check_full_name(full_name, title)
    before = user_site_ids(session, user_id)
    user.role = role.value
    user.full_name = full_name or None
    user.title = title or None
    session.add(user)
    set_site_scope(session, user, site_codes)
    record(
        session,
        actor=actor,
        action="user.update",
        target=user.username,
        address=address,
        detail={"role": role.value, "sites": sorted(site_codes)},
        sites=before | user_site_ids(session, user_id),
    )
    return user


def set_language(session: Session, user_id: int, language: str) -> None:
    user = session.get(User, user_id)
    if user is not None and user.language != language:
        user.language = language
        session.add(user)
