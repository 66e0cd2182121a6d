"""Login throttling state and the sites an audit event concerns.

Both live in the database, not in a process: several collector processes share one PostgreSQL, and a
throttle kept in memory would reset with every restart and be split between workers.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from collector.models.types import ts_field


class LoginThrottle(SQLModel, table=True):
    """Failed logins of one username from one address, and when the next attempt is allowed.

    Keyed by both: a stranger guessing an admin's password from elsewhere slows down only their own
    pair, never the admin's own logins.
    """

    username: str = Field(primary_key=True, max_length=150)
    address: str = Field(primary_key=True, max_length=64)
    failures: int = 0
    last_failed_at: datetime = ts_field()
    next_allowed_at: datetime | None = ts_field(nullable=True)


class AuditEventSite(SQLModel, table=True):
    """A site an audit event concerns. An administrator scoped to some sites sees an event only when
    every site it concerns is one of theirs (an event concerning no site is city-wide)."""

    event_id: int = Field(foreign_key="auditevent.id", primary_key=True, ondelete="CASCADE")
    site_id: int = Field(foreign_key="site.id", primary_key=True, index=True, ondelete="CASCADE")
