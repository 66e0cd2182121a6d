"""A service table (``collector.services.tables``) on a console page and as a CSV/XLSX download.

``table_view`` reads the request (filters, ``sort``, ``cursor``, ``limit``), runs one page and returns
what ``_table.html`` draws: sortable headers, rows, the previous/next links, the export links of the
same view. ``export`` writes the whole filtered view, in its sort order, through ``table_export``.
Cell texts (labels of severities, statuses, categories...) come from ``cell_text``, so the page and
the file always say the same thing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import func
from sqlmodel import Session, col, select

from collector.i18n import evidence_text
from collector.localtime import stamp
from collector.models.core import Site
from collector.reports import table_export
from collector.services.errors import NotFound, ServiceError
from collector.services.planning import class_label, status_label
from collector.services.scoring import category_label
from collector.services.tables import base
from collector.services.tables.assets import TABLE as ASSETS
from collector.services.tables.audit import TABLE as AUDIT
from collector.services.tables.audit import detail_text
from collector.services.tables.certificates import TABLE as CERTIFICATES
from collector.services.tables.devices import TABLE as DEVICES
from collector.services.tables.findings import TABLE as FINDINGS
from collector.services.tables.software import TABLE as SOFTWARE
from collector.web.i18n import format_date, format_number, translator
from collector.web.setup import request_language

EVERYONE = ("admin", "technician", "inspector", "planner", "viewer")
# name -> (table, roles that may read it)
TABLES: dict[str, tuple[base.Table, tuple[str, ...]]] = {
    "devices": (DEVICES, EVERYONE),
    "findings": (FINDINGS, EVERYONE),
    "certificates": (CERTIFICATES, EVERYONE),
    "software": (SOFTWARE, EVERYONE),
    "assets": (ASSETS, ("admin", "planner", "technician")),
    "audit": (AUDIT, ("admin",)),
}
PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50

SEVERITY = {"critical": "Critical", "high": "High", "medium": "Medium", "low": "Low", "info": "Information"}
FINDING_STATUS = {"open": "Open finding", "accepted": "Risk accepted", "resolved": "Resolved"}
DEVICE_KIND = {"host": "Computer", "network_device": "Network device"}
CERT_ROLE = {"signing": "Signing", "ca": "CA certificate", "tls": "TLS"}
CERT_STATUS = {
    "valid": "Valid",
    "expired": "Expired",
    "not_yet_valid": "Not yet valid",
    "revoked": "Revoked",
    "untrusted": "Untrusted",
    "revocation_unknown": "Revocation status unknown",
    "bad_key_usage": "Key usage does not allow signing",
    "weak_algorithm": "Weak algorithm",
    "error": "Error",
}


def _check_title(check_id: str, lang: str) -> str:
    try:
        from checks.catalog import load_catalog

        check = load_catalog().get(check_id)
    except Exception:  # a broken catalog file must not hide the findings: show the check id
        return check_id
    return translator(lang)(check.title) if check else check_id


def cell_text(kind: str, value: Any, lang: str) -> str:
    """What a cell says, in ``lang`` (the page shows it; the CSV/XLSX holds it for label kinds)."""
    _ = translator(lang)
    if value is None or value == "":
        return "—" if kind in ("date", "datetime", "int") else ""
    labels: dict[str, dict[str, str]] = {
        "severity": SEVERITY,
        "finding_status": FINDING_STATUS,
        "device_kind": DEVICE_KIND,
        "cert_role": CERT_ROLE,
        "cert_status": CERT_STATUS,
    }
    if kind in labels:
        return _(labels[kind].get(str(value), str(value)))
    if kind == "category":
        return category_label(str(value), lang)
    if kind == "device_class":
        return class_label(str(value), lang)
    if kind == "lifecycle":
        return status_label(str(value), lang)
    if kind == "audit_detail":
        return detail_text(value, _) if isinstance(value, dict) else str(value)
    if kind == "evidence":  # {"text": English as stored, "message": {id, params} or None}
        return evidence_text(str(value.get("text") or ""), value.get("message"), lang)
    if kind == "check_title":
        return _check_title(str(value), lang)
    if kind in ("date", "datetime"):
        return format_date(value, lang)
    if kind == "int":
        return format_number(value, lang)
    return str(value)


def _typed(kind: str, value: Any, lang: str) -> Any:
    """An export cell: numbers and dates stay typed; labels become text in the export's language."""
    if kind in ("int", "date", "datetime", "text") or value is None:
        return value
    return cell_text(kind, value, lang)


@dataclass
class TableView:
    table: base.Table
    rows: list[dict[str, Any]]
    filters: dict[str, str]
    sort: str
    limit: int
    total: int | None
    next_href: str | None
    prev_href: str | None
    first_href: str | None
    error: str | None
    path: str
    total_over: int | None = None  # more rows than this match (the count stops there)
    sites: list[Site] = field(default_factory=list)
    site_as_text: bool = False  # too many sites for a list: the filter is a code typed in
    groups: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    export_hrefs: dict[str, str] = field(default_factory=dict)
    lang: str = "vi"

    def params(self, **changes: Any) -> str:
        values: dict[str, Any] = {**self.filters, "sort": self.sort, "limit": self.limit}
        # A filter with a default that was emptied on purpose (findings of every status) must stay
        # empty on the next page, so it travels as "status=".
        for name in self.table.defaults:
            values.setdefault(name, "")
        values.update(changes)
        kept = {k: v for k, v in values.items() if v is not None and (v != "" or k in self.table.defaults)}
        return urlencode(kept)

    def sort_href(self, column: base.Column) -> str | None:
        if not column.sort:
            return None
        current = self.sort.lstrip("-")
        descending = self.sort.startswith("-")
        target = f"-{column.sort}" if current == column.sort and not descending else column.sort
        return f"{self.path}?{self.params(sort=target)}"

    def sort_state(self, column: base.Column) -> str | None:
        """ascending / descending when the rows are sorted by this column (for aria-sort)."""
        if not column.sort or self.sort.lstrip("-") != column.sort:
            return None
        return "descending" if self.sort.startswith("-") else "ascending"

    def text(self, column: base.Column, row: dict[str, Any]) -> str:
        return cell_text(column.kind, row.get(column.key), self.lang)


SITE_LIST_MAX = 300


def _count_sites(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(Site)).one())


def _scope_groups(session: Session, scope: Any) -> list[str]:
    q = select(Site.group_name).where(col(Site.group_name).is_not(None)).distinct()
    if scope is not None:
        q = q.where(col(Site.id).in_(list(scope)))
    return sorted(g for g in session.exec(q).all() if g)


def _scope_sites(session: Session, scope: Any) -> list[Site]:
    q = select(Site).order_by(col(Site.code))
    if scope is not None:
        q = q.where(col(Site.id).in_(list(scope)))
    return list(session.exec(q).all())


def table_view(
    request: Request,
    session: Session,
    user: Any,
    table: base.Table,
    *,
    path: str,
    export_name: str | None = None,
    options: dict[str, Any] | None = None,
    fixed: dict[str, str] | None = None,
) -> tuple[TableView, int]:
    """(the view, the HTTP status: 200, or 400 with ``view.error`` saying what was wrong)."""
    params = request.query_params
    lang = request_language(request)
    error = None
    filters: dict[str, str] = {}
    try:
        filters = table.clean({**{f.name: params.get(f.name) for f in table.filters}, **(fixed or {})})
    except ServiceError as exc:
        error = exc.text(lang)
    if filters.get("site"):
        try:
            base.site_id_of(session, filters["site"], user.site_ids)
        except NotFound:
            # Another site's code looks exactly like a missing one.
            raise HTTPException(404) from None
    limit_text = params.get("limit") or ""
    limit = int(limit_text) if limit_text.isdigit() and int(limit_text) in PAGE_SIZES else DEFAULT_PAGE_SIZE
    sort = params.get("sort")
    try:
        sort_name = table.sorting.normal(sort)
    except ServiceError as exc:
        error, sort_name = error or exc.text(lang), table.sorting.normal(None)
    cursor = params.get("cursor") or None
    view = TableView(
        table=table,
        rows=[],
        filters=filters,
        sort=sort_name,
        limit=limit,
        total=None,
        next_href=None,
        prev_href=None,
        first_href=None,
        error=error,
        path=path,
        lang=lang,
    )
    kinds = {f.kind for f in table.filters}
    if "site" in kinds or "group" in kinds:
        # A list of the country's 3,321 communes in every table's filter cost more than the table
        # (hundreds of ms to read and render): past SITE_LIST_MAX the site is a code typed in.
        n_sites = len(user.site_ids) if user.site_ids is not None else _count_sites(session)
        if n_sites > SITE_LIST_MAX:
            view.site_as_text = True
            view.groups = _scope_groups(session, user.site_ids)
        else:
            view.sites = _scope_sites(session, user.site_ids)
            view.groups = sorted({s.group_name for s in view.sites if s.group_name})
    if "action" in kinds:
        from collector.services.audit import known_actions

        view.actions = known_actions(session)
    if error is None:
        try:
            result = base.page(
                session,
                table,
                scope=user.site_ids,
                filters=filters,
                sort=sort_name,
                cursor=cursor,
                limit=limit,
                options=options,
            )
        except ServiceError as exc:
            view.error = exc.text(lang)
        else:
            view.rows, view.total, view.total_over = result.rows, result.total, result.total_over
            if result.next_cursor:
                view.next_href = f"{path}?{view.params(cursor=result.next_cursor)}"
            if result.prev_cursor:
                view.prev_href = f"{path}?{view.params(cursor=result.prev_cursor)}"
            if cursor:
                view.first_href = f"{path}?{view.params()}"
    if export_name:
        query = view.params(limit=None)
        view.export_hrefs = {fmt: f"/export/{export_name}.{fmt}?{query}" for fmt in ("csv", "xlsx")}
    return view, 400 if view.error else 200


def export(
    request: Request,
    session: Session,
    user: Any,
    table: base.Table,
    fmt: str,
    *,
    options: dict[str, Any] | None = None,
    fixed: dict[str, str] | None = None,
    fail: Callable[[int, str], Response],
) -> Response:
    """The whole filtered view as CSV or XLSX, in the request's sort order and language."""
    lang = request_language(request)
    _ = translator(lang)
    params = request.query_params
    try:
        filters = table.clean({**{f.name: params.get(f.name) for f in table.filters}, **(fixed or {})})
        rows = base.all_rows(
            session, table, scope=user.site_ids, filters=filters, sort=params.get("sort"), options=options
        )
    except ServiceError as exc:
        return fail(exc.status_code, exc.text(lang))
    columns = [c for c in table.columns if c.export]
    export_columns = [
        table_export.ExportColumn(
            c.key, _(c.title), "text" if c.kind not in ("int", "date", "datetime") else c.kind, c.width
        )
        for c in columns
    ]
    typed = [{c.key: _typed(c.kind, r.get(c.key), lang) for c in columns} for r in rows]
    data = table_export.render(fmt, export_columns, typed, sheet=_(table.title))
    filename = f"{table.export_stem}-{stamp()}.{fmt}"
    return Response(
        data,
        media_type=table_export.MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
