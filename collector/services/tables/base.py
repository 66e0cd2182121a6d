"""What every table declares: its columns, filters and sorts; and how a request is run through it."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.sql import Select
from sqlmodel import Session, col, select

from collector.localtime import now_utc
from collector.models.core import Site
from collector.services import paging
from collector.services.errors import NotFound, ServiceError

Scope = Collection[int] | None
MAX_EXPORT_ROWS = 250_000
EXPORT_BATCH = 1000


@dataclass(frozen=True)
class Column:
    key: str
    title: str  # English; the console and the export translate it
    kind: str = "text"  # text, int, date, datetime, or a label kind (severity, category...)
    sort: str | None = None  # the sort key that orders by this column
    secondary: bool = False  # left out at phone width (the row stays readable without it)
    export: bool = True
    width: int = 18  # XLSX column width


@dataclass(frozen=True)
class Filter:
    name: str
    label: str  # English
    kind: str = "text"  # text, select, site, group, number
    choices: tuple[tuple[str, str], ...] = ()  # (value, English label) for a select
    placeholder: str = ""


@dataclass(frozen=True)
class Table:
    name: str
    title: str  # English
    columns: tuple[Column, ...]
    filters: tuple[Filter, ...]
    sorting: paging.Sorting
    export_stem: str  # file name: <stem>-<yyyymmdd>.csv
    # (session, *, scope, filters, now, **options) -> the filtered select, unordered
    build: Callable[..., Select[Any]]
    # (session, rows, *, now, scope, filters, **options) -> one dict per row: column key -> value, and for the
    # console "<key>_href" (a link), "<key>_note" (a second line), "<key>_flag" (a warning badge)
    shape: Callable[..., list[dict[str, Any]]]
    defaults: Mapping[str, str] = field(default_factory=dict)

    def clean(self, raw: Mapping[str, str | None]) -> dict[str, str]:
        """The table's filters from request parameters: known names only, trimmed, defaults applied."""
        out: dict[str, str] = {}
        for f in self.filters:
            value = raw.get(f.name)
            value = self.defaults.get(f.name, "") if value is None else value
            value = value.strip()[:200]
            if f.kind == "select" and value and value not in {v for v, _ in f.choices}:
                allowed = ", ".join(v for v, _ in f.choices)
                raise ServiceError(
                    "%(f_name)s: %(value)s is not one of %(allowed)s",
                    f_name=f.name,
                    value=repr(value),
                    allowed=allowed,
                )
            if value:
                out[f.name] = value
        return out


def site_id_of(session: Session, code: str, scope: Scope) -> int:
    """The id of a site the caller may see; another site's code answers like a missing one."""
    site = session.exec(select(Site).where(Site.code == code)).first()
    if site is None or (scope is not None and site.id not in scope):
        raise NotFound("no site with code %(code)s", code=repr(code))
    return site.id or 0


def group_site_ids(session: Session, group: str, scope: Scope) -> list[int]:
    q = select(Site.id).where(Site.group_name == group)
    if scope is not None:
        q = q.where(col(Site.id).in_(list(scope)))
    return [i for i in session.exec(q).all() if i is not None]


def int_filter(filters: Mapping[str, str], name: str) -> int | None:
    value = filters.get(name)
    if not value:
        return None
    if not value.isdigit() or len(value) > 9:
        raise ServiceError("%(name)s: %(value)s is not a number", name=name, value=repr(value))
    return int(value)


def raw_page(
    session: Session,
    table: Table,
    *,
    scope: Scope,
    filters: Mapping[str, str],
    sort: str | None,
    cursor: str | None,
    limit: int,
    now: datetime | None = None,
    with_total: bool = True,
    options: Mapping[str, Any] | None = None,
) -> paging.Page:
    """One page of the table's query rows as the database gives them (the API maps them itself)."""
    now = now or now_utc()
    query = table.build(session, scope=scope, filters=filters, now=now, **dict(options or {}))
    return paging.paginate(
        session, query, table.sorting, sort=sort, cursor=cursor, limit=limit, with_total=with_total
    )


def page(
    session: Session,
    table: Table,
    *,
    scope: Scope,
    filters: Mapping[str, str],
    sort: str | None,
    cursor: str | None,
    limit: int,
    now: datetime | None = None,
    with_total: bool = True,
    options: Mapping[str, Any] | None = None,
) -> paging.Page:
    """One page of the table, its rows already shaped. ``options``: settings a table reads
    (``stale_minutes``)."""
    now = now or now_utc()
    opts = dict(options or {})
    result = raw_page(
        session,
        table,
        scope=scope,
        filters=filters,
        sort=sort,
        cursor=cursor,
        limit=limit,
        now=now,
        with_total=with_total,
        options=opts,
    )
    result.rows = table.shape(session, result.rows, now=now, scope=scope, filters=filters, **opts)
    return result


def all_rows(
    session: Session,
    table: Table,
    *,
    scope: Scope,
    filters: Mapping[str, str],
    sort: str | None,
    now: datetime | None = None,
    options: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Every row of the filtered view in its sort order, walked page by page (for an export)."""
    now = now or now_utc()
    opts = dict(options or {})
    query = table.build(session, scope=scope, filters=filters, now=now, **opts)
    total = paging.count(session, query)
    if total > MAX_EXPORT_ROWS:
        raise ServiceError(
            "the view has %(total)s rows; an export holds at most %(max_export_rows)s: narrow the filters",
            total=total,
            max_export_rows=MAX_EXPORT_ROWS,
        )
    out: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        chunk = paging.paginate(session, query, table.sorting, sort=sort, cursor=cursor, limit=EXPORT_BATCH)
        out.extend(table.shape(session, chunk.rows, now=now, scope=scope, filters=filters, **opts))
        if chunk.next_cursor is None:
            return out
        cursor = chunk.next_cursor
