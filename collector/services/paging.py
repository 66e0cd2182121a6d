"""Sorting and keyset pagination: one mechanism for every API list and console table.

A page is asked for by a sort (``hostname``, ``-last_report``: a leading ``-`` is descending) and an
opaque cursor; the cursor holds the sort values and the id of the row it starts after (or before, for
the previous page). The query then reads ``WHERE (key, id) > (:values, :id) ORDER BY key, id LIMIT n``:
the database walks an index from that point, so page 2,000 costs what page 1 costs, which OFFSET
cannot promise at 100,000 devices. The id breaks ties, so no row is skipped or shown twice when many
rows share a sort value.

Sort expressions must never be NULL (a row comparison with NULL is unknown and the row would vanish
from every page): wrap nullable columns with ``coalesce`` in the ``SortKey``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, literal, select, tuple_
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.sql import ColumnElement, Select
from sqlmodel import Session

from collector.services.errors import ServiceError

MAX_LIMIT = 1000
# A page's total is counted exactly up to this many rows; beyond, it says "more than TOTAL_CAP". Counting
# every open finding of 100,000 devices (400,000 rows) cost 80-150 ms per page on PostgreSQL, more than
# the page itself; nobody reads "412,337" differently from "more than 10,000" (docs/architecture.md).
TOTAL_CAP = 10_000


@dataclass(frozen=True)
class SortKey:
    """A sort the caller may ask for: one or more SQL expressions (never NULL), compared in order."""

    name: str
    exprs: tuple[ColumnElement[Any], ...]


@dataclass(frozen=True)
class Sorting:
    keys: tuple[SortKey, ...]
    tiebreak: ColumnElement[Any]  # a unique integer column (the table's id)
    default: str  # e.g. "hostname" or "-last_report"

    def names(self) -> list[str]:
        return [k.name for k in self.keys]

    def parse(self, text: str | None) -> tuple[SortKey, bool]:
        """(key, descending) for ``text``; an unknown name is a ServiceError that lists the known ones."""
        raw = (text or "").strip() or self.default
        descending = raw.startswith("-")
        name = raw.lstrip("-+")
        for key in self.keys:
            if key.name == name:
                return key, descending
        raise ServiceError(
            "cannot sort by %(name)s; sort by one of: %(choices)s",
            name=repr(name),
            choices=", ".join(self.names()),
        )

    def normal(self, text: str | None) -> str:
        key, descending = self.parse(text)
        return f"-{key.name}" if descending else key.name


@dataclass
class Page:
    """One page of rows, in order, with the cursors of its neighbours (None: there is none)."""

    rows: list[Any]
    sort: str
    next_cursor: str | None = None
    prev_cursor: str | None = None
    total: int | None = None
    limit: int = 0
    extras: dict[str, Any] = field(default_factory=dict)
    # Set instead of ``total`` when more rows than this match (the count stopped there).
    total_over: int | None = None


def _encode(direction: str, sort: str, values: Sequence[Any], row_id: int) -> str:
    def plain(v: Any) -> Any:
        if isinstance(v, datetime):
            return {"t": v.isoformat()}
        if isinstance(v, date):
            return {"d": v.isoformat()}
        return v

    raw = json.dumps([direction, sort, [plain(v) for v in values], row_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str, sort: str, width: int) -> tuple[str, list[Any], int]:
    bad = ServiceError(
        "the page cursor is not valid (it may be from another sort); start from the first page"
    )
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        direction, cursor_sort, values, row_id = json.loads(raw)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise bad from None
    if direction not in ("n", "p") or cursor_sort != sort or not isinstance(row_id, int):
        raise bad
    if not isinstance(values, list) or len(values) != width:
        raise bad

    def typed(v: Any) -> Any:
        if isinstance(v, dict) and len(v) == 1:
            (tag, text), *_ = v.items()
            try:
                return datetime.fromisoformat(text) if tag == "t" else date.fromisoformat(text)
            except (TypeError, ValueError):
                raise bad from None
        if v is None or isinstance(v, dict | list):
            raise bad
        return v

    return direction, [typed(v) for v in values], row_id


def count(session: Session, query: Select[Any]) -> int:
    """How many rows ``query`` gives (its ordering and limits dropped)."""
    sub = query.order_by(None).limit(None).offset(None).subquery()
    return int(_run(session, select(func.count()).select_from(sub)).scalar_one())


def count_capped(session: Session, query: Select[Any], cap: int | None = None) -> int:
    """How many rows ``query`` gives, counting at most ``cap + 1`` of them (an index walk that stops)."""
    cap = TOTAL_CAP if cap is None else cap
    sub = query.order_by(None).limit(cap + 1).offset(None).subquery()
    return int(_run(session, select(func.count()).select_from(sub)).scalar_one())


def _run(session: Session, statement: Any) -> Any:
    # SQLAlchemy's own execute: rows keep every selected column (SQLModel's exec would turn a
    # one-entity select with our extra key columns into bare entities).
    return OrmSession.execute(session, statement)


def paginate(
    session: Session,
    query: Select[Any],
    sorting: Sorting,
    *,
    sort: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
    with_total: bool = False,
) -> Page:
    """One page of ``query`` (a select of entities or columns, not yet ordered), in ``sort`` order.

    The rows come back as the query's rows (a single entity unwrapped). ``with_total`` adds a count
    of the matching rows (one more query; the console shows it, the API sends it as a header), exact up
    to ``TOTAL_CAP``, else ``total_over``.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise ServiceError("limit must be between 1 and %(max_limit)s", max_limit=MAX_LIMIT)
    key, descending = sorting.parse(sort)
    sort_name = f"-{key.name}" if descending else key.name
    exprs = [*key.exprs, sorting.tiebreak]
    width = len(key.exprs)
    direction = "n"
    q = query
    if cursor:
        direction, values, row_id = _decode(cursor, sort_name, width)
        bound = [literal(v, e.type) for v, e in zip([*values, row_id], exprs, strict=True)]
        after = (direction == "n") != descending
        left, right = tuple_(*exprs), tuple_(*bound)
        q = q.where(left > right if after else left < right)
    backwards = direction == "p"
    reverse = descending != backwards
    q = q.order_by(*[e.desc() if reverse else e.asc() for e in exprs])
    q = q.add_columns(*[e.label(f"_pk{i}") for i, e in enumerate(exprs)]).limit(limit + 1)
    fetched = list(_run(session, q).all())
    more = len(fetched) > limit
    fetched = fetched[:limit]
    if backwards:
        fetched.reverse()
    n_keys = len(exprs)
    rows = [_strip(r, n_keys) for r in fetched]
    page = Page(rows=rows, sort=sort_name, limit=limit)
    if fetched:
        first, last = tuple(fetched[0])[-n_keys:], tuple(fetched[-1])[-n_keys:]
        has_next = more if not backwards else True
        has_prev = more if backwards else bool(cursor)
        if has_next:
            page.next_cursor = _encode("n", sort_name, last[:-1], int(last[-1]))
        if has_prev:
            page.prev_cursor = _encode("p", sort_name, first[:-1], int(first[-1]))
    if with_total:
        n = count_capped(session, query)
        if n > TOTAL_CAP:
            page.total_over = TOTAL_CAP
        else:
            page.total = n
    return page


def _strip(row: Any, n_keys: int) -> Any:
    values = tuple(row)[:-n_keys]
    return values[0] if len(values) == 1 else values
