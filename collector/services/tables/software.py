"""Programs installed in the city: one row per name and version, with how many of the user's devices
have it; filtered by a name or a version comparison (``winrar<6.23``) and by site or group."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func
from sqlmodel import Session, col, select

from collector.models.search import DeviceSoftware, SoftwarePackage
from collector.services import paging
from collector.services.errors import ServiceError
from collector.services.search import package_condition
from collector.services.tables.base import Column, Filter, Scope, Table, group_site_ids, site_id_of
from collector.services.versions import parse_version_query

VERSION = func.coalesce(col(SoftwarePackage.version_key), "")

SORTING = paging.Sorting(
    keys=(
        paging.SortKey("name", (col(SoftwarePackage.name_fold), VERSION)),
        paging.SortKey("version", (VERSION, col(SoftwarePackage.name_fold))),
        paging.SortKey(
            "publisher", (func.coalesce(col(SoftwarePackage.vendor), ""), col(SoftwarePackage.name_fold))
        ),
    ),
    tiebreak=col(SoftwarePackage.id),
    default="name",
)

COLUMNS = (
    Column("name", "Name", sort="name", width=40),
    Column("version", "Version", sort="version", width=20),
    Column("publisher", "Publisher", sort="publisher", secondary=True, width=26),
    Column("devices", "Devices", kind="int", width=10),
)

FILTERS = (
    Filter("q", "Name, or name and version", placeholder="winrar<6.23"),
    Filter("site", "Site", kind="site"),
    Filter("group", "Group", kind="group"),
)


def _sites(session: Session, scope: Scope, filters: Mapping[str, str]) -> list[int] | None:
    """The site ids the counts and the listing are limited to (None: every site)."""
    sites: list[int] | None = list(scope) if scope is not None else None
    if filters.get("site"):
        sites = [site_id_of(session, filters["site"], scope)]
    if filters.get("group"):
        grouped = group_site_ids(session, filters["group"], scope)
        sites = grouped if sites is None else [s for s in sites if s in grouped]
    return sites


def build(session: Session, *, scope: Scope, filters: Mapping[str, str], now: datetime, **_: Any) -> Any:
    installed = exists().where(DeviceSoftware.package_id == SoftwarePackage.id)
    sites = _sites(session, scope, filters)
    if sites is not None:
        installed = installed.where(col(DeviceSoftware.site_id).in_(sites))
    q = select(SoftwarePackage).where(installed)
    text = filters.get("q")
    if text:
        if len(text) < 2:
            raise ServiceError("type at least 2 characters")
        dialect = session.get_bind().dialect.name
        q = q.where(package_condition(text, parse_version_query(text), dialect=dialect))
    return q


def shape(
    session: Session, rows: list[Any], *, now: datetime, scope: Scope, filters: Mapping[str, str], **_: Any
) -> list[dict[str, Any]]:
    """Each package with the number of devices that have it, in the sites the listing covers."""
    ids = [p.id for p in rows]
    count_sites = _sites(session, scope, filters)
    counts: dict[int, int] = {}
    if ids:
        q = (
            select(DeviceSoftware.package_id, func.count())
            .where(col(DeviceSoftware.package_id).in_(ids))
            .group_by(col(DeviceSoftware.package_id))
        )
        if count_sites is not None:
            q = q.where(col(DeviceSoftware.site_id).in_(count_sites))
        counts = dict(session.exec(q).all())
    return [
        {
            "id": p.id,
            "name": p.name,
            "version": p.version,
            "publisher": p.vendor or "",
            "devices": int(counts.get(p.id, 0)),
            "devices_href": f"/devices?package={p.id}"
            + (f"&site={filters['site']}" if filters.get("site") else "")
            + (f"&group={filters['group']}" if filters.get("group") else ""),
        }
        for p in rows
    ]


TABLE = Table(
    name="software",
    title="Software",
    columns=COLUMNS,
    filters=FILTERS,
    sorting=SORTING,
    export_stem="phan-mem",
    build=build,
    shape=shape,
)
