"""Slowing down guessing without letting strangers lock anyone out.

Two brakes, both kept in the database so that every collector process sees the same state:

- per (username, address): the first ``FREE_FAILURES`` wrong passwords cost nothing; after that each
  one doubles the wait before the next attempt of that pair (1 s, 2 s, 4 s ... at most ``MAX_DELAY``).
  A stranger elsewhere slows down only their own pair: the account's owner logs in as usual.
- per address: failed anonymous attempts of every kind (wrong passwords, wrong enroll secrets, unknown
  agent keys) counted over ``ADDRESS_WINDOW``; past ``MAX_FAILURES_PER_ADDRESS`` that address gets 429
  until the window moves on.
Unknown usernames are throttled exactly like real ones, so a refusal tells nothing about who exists.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import case
from sqlmodel import Session, delete

from collector.models.security import LoginThrottle
from collector.models.types import utcnow
from collector.services.audit import count_failure, failures_since
from collector.services.errors import ServiceError

FREE_FAILURES = 5
FIRST_DELAY = timedelta(seconds=1)
MAX_DELAY = timedelta(minutes=5)
# A pair that has been quiet this long starts again from zero.
FORGET_AFTER = timedelta(hours=1)

ADDRESS_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ADDRESS = 100
LOGIN_FAILED = "login.failed"
ENROLL_FAILED = "agent.enroll_failed"
UNKNOWN_AGENT_KEY = "agent.unknown_key"
THROTTLED = "anonymous.throttled"
FAILED_KINDS = (LOGIN_FAILED, ENROLL_FAILED, UNKNOWN_AGENT_KEY)


class TooManyAttempts(ServiceError):
    """Refused before checking anything: wait ``retry_after`` seconds (HTTP 429, ``Retry-After``)."""

    status_code = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)


def _key(username: str, address: str | None) -> tuple[str, str]:
    return username.strip().lower()[:150], (address or "unknown")[:64]


def check_address(session: Session, *, address: str | None, now: datetime | None = None) -> None:
    """Raise ``TooManyAttempts`` when this address failed too often lately (the refusal is counted)."""
    now = now or utcnow()
    if failures_since(session, address=address, actions=FAILED_KINDS, since=now - ADDRESS_WINDOW) < (
        MAX_FAILURES_PER_ADDRESS
    ):
        return
    count_failure(session, action=THROTTLED, address=address)
    raise TooManyAttempts(
        "too many failed attempts from this address; try again later",
        retry_after=int(ADDRESS_WINDOW.total_seconds()),
    )


def check_login(session: Session, *, username: str, address: str | None, now: datetime | None = None) -> None:
    """Raise ``TooManyAttempts`` when this (username, address) pair must still wait."""
    now = now or utcnow()
    check_address(session, address=address, now=now)
    row = session.get(LoginThrottle, _key(username, address))
    if row is not None and row.next_allowed_at is not None and row.next_allowed_at > now:
        count_failure(session, action=THROTTLED, address=address)
        wait = math.ceil((row.next_allowed_at - now).total_seconds())
        raise TooManyAttempts(f"too many failed logins; wait {wait} s before trying again", retry_after=wait)


def login_failed(
    session: Session, *, username: str, address: str | None, now: datetime | None = None
) -> None:
    now = now or utcnow()
    name, addr = _key(username, address)
    # One statement, so that parallel guesses from several processes all count (no lost update, no
    # duplicate-key error when the first two failures of a pair arrive together).
    table = LoginThrottle.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
    from sqlalchemy.dialects import postgresql, sqlite

    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stale = table.c.last_failed_at < now - FORGET_AFTER
    stmt = insert(table).values(username=name, address=addr, failures=1, last_failed_at=now)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.username, table.c.address],
        set_={
            "failures": case((stale, 1), else_=table.c.failures + 1),
            "last_failed_at": now,
            "next_allowed_at": case((stale, None), else_=table.c.next_allowed_at),
        },
    )
    session.execute(stmt)
    row = session.get(LoginThrottle, (name, addr), populate_existing=True)
    assert row is not None
    if row.failures > FREE_FAILURES:
        delay = FIRST_DELAY * 2 ** min(row.failures - FREE_FAILURES - 1, 20)
        row.next_allowed_at = now + min(delay, MAX_DELAY)
        session.add(row)
    count_failure(session, action=LOGIN_FAILED, address=address)


def login_succeeded(session: Session, *, username: str, address: str | None) -> None:
    name, addr = _key(username, address)
    session.exec(delete(LoginThrottle).where(LoginThrottle.username == name, LoginThrottle.address == addr))


def forget_user(session: Session, *, username: str) -> None:
    """An administrator's reset or re-enable starts the user's throttles from zero."""
    session.exec(delete(LoginThrottle).where(LoginThrottle.username == username.strip().lower()))
