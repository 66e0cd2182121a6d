"""Database engine: SQLite with WAL, foreign keys and a busy timeout by default; PostgreSQL by URL."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

from collector.services.errors import ServiceError

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class UnstorableValue(ServiceError):
    """A value no database of ours can hold (NUL in text, an integer past 64 bits): refused alike on
    SQLite and PostgreSQL before the statement runs, as a 422 naming what was wrong."""

    status_code = 422


def make_engine(url: str, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        if parsed.drivername == "postgresql":
            url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        # At most 15 connections per process, as with SQLAlchemy's default (5 + 10 overflow), but ten
        # of them kept: an overflow connection is closed when given back, and with the small reports'
        # ingest threads (``ingest_inline_concurrency``) beside the key checks the default opened and
        # closed a PostgreSQL backend (a process fork on the server) every few reports.
        if "poolclass" not in kwargs:
            kwargs.setdefault("pool_size", 10)
            kwargs.setdefault("max_overflow", 5)
        engine = create_engine(url, pool_pre_ping=True, **kwargs)
    event.listen(engine, "before_cursor_execute", _refuse_unstorable)
    return engine


def _refuse_unstorable(
    _conn: Any, _cursor: Any, _statement: str, parameters: Any, _context: Any, executemany: bool
) -> None:
    """The last line of defence: inputs are validated at the edges; whatever slips through becomes a
    clear 422 here instead of a driver error (PostgreSQL) or a silent difference (SQLite)."""
    # dict or tuple per row, one or many rows, or one flat tuple for a batched insert: walk them all.
    _check_values((parameters,))


def _check_values(values: Any) -> None:
    # Every statement's every value passes here (a new PC's 1,500 programs are ~9,000 of them): the
    # exact types come first, one comparison each; subclasses (enums) take the general tests after.
    for value in values:
        kind = type(value)
        if kind is str:
            if "\x00" in value:
                raise UnstorableValue("a text value contains a NUL character")
        elif kind is int:
            if not INT64_MIN <= value <= INT64_MAX:
                raise UnstorableValue("a number is outside the 64-bit range")
        elif kind is dict:
            _check_values(value.values())
        elif kind is list or kind is tuple:
            _check_values(value)
        elif value is None or kind is float or kind is bool or kind is bytes:
            continue
        elif isinstance(value, dict):
            _check_values(value.values())
        elif isinstance(value, list | tuple):
            _check_values(value)
        elif isinstance(value, str):
            if "\x00" in value:
                raise UnstorableValue("a text value contains a NUL character")
        elif isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
            raise UnstorableValue("a number is outside the 64-bit range")


def plain_rows(session: Session, statement: Any, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The rows of ``statement``, a Core ``SELECT`` of text and integer columns with text and integer
    parameters, run on the DB-API cursor of ``session``'s connection, inside its transaction.

    For the hot reads of the report path (an hourly delta's section hashes and duplicate check):
    through SQLAlchemy's execution a statement costs ~200 Python calls (execution context, result
    metadata, the session's bookkeeping) where the driver's cursor costs ~65. The statement is
    compiled once per dialect; its values need no type processing either way (text and integers),
    so the rows are the driver's tuples. Not seen by ``before_cursor_execute`` listeners: nothing is
    written (``_refuse_unstorable`` guards writes), and a driver error is the driver's own."""
    connection = session.connection()
    sql, order = _plain_sql(statement, connection.dialect)
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, params if order is None else [params[name] for name in order])
        return list(cursor.fetchall())
    finally:
        cursor.close()


@functools.cache  # per statement (built once, module level) and dialect
def _plain_sql(statement: Any, dialect: Any) -> tuple[str, tuple[str, ...] | None]:
    compiled = statement.compile(dialect=dialect)
    order = tuple(compiled.positiontup) if compiled.positional else None
    return compiled.string, order


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    # FULL: a report acknowledged with 202 survives a power cut, because the agent deletes it
    # from its spool on that answer.
    cur.execute("PRAGMA synchronous=FULL")
    cur.close()


def error_reason(exc: Exception) -> str:
    """The first line of what the database (the driver's own error when there is one) said."""
    said = str(getattr(exc, "orig", None) or exc).strip()
    return said.splitlines()[0] if said else type(exc).__name__


def database_error_line(url: str, exc: Exception) -> str:
    """One line saying why the database at ``url`` cannot be used, password hidden, with a hint."""
    reason = error_reason(exc)
    hint = (
        "run `wardwatch db upgrade` first"
        if "no such table" in reason or "does not exist" in reason
        else "is the database server running and the URL right?"
    )
    shown = make_url(url).render_as_string(hide_password=True)
    return f"cannot use the database {shown}: {reason} ({hint})"


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(engine) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
