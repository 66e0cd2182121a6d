"""One device's installed programs (the device page's software tab): searchable by name or by a
version comparison (``chrome<121``), sortable, paged like every other table."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, func, literal
from sqlmodel import Session, col, select

from collector.models.search import DeviceSoftware, SoftwarePackage
from collector.services import paging
from collector.services.errors import ServiceError
from collector.services.search import contains_pattern, package_condition
from collector.services.tables.base import Column, Filter, Scope, Table, int_filter
from collector.services.versions import parse_version_query

VERSION = func.coalesce(col(SoftwarePackage.version_key), "")

SORTING = paging.Sorting(
    keys=(
        paging.SortKey("name", (col(SoftwarePackage.name_fold), VERSION)),
        paging.SortKey("version", (VERSION, col(SoftwarePackage.name_fold))),
        paging.SortKey(
            "publisher", (func.coalesce(col(SoftwarePackage.vendor), ""), col(SoftwarePackage.name_fold))
        ),
        paging.SortKey(
            "installed", (func.coalesce(col(DeviceSoftware.install_date), literal(date(1900, 1, 1), Date())),)
        ),
    ),
    tiebreak=col(SoftwarePackage.id),
    default="name",
)

COLUMNS = (
    Column("name", "Name", sort="name", width=40),
    Column("version", "Version", sort="version", width=20),
    Column("publisher", "Publisher", sort="publisher", secondary=True, width=26),
    Column("installed", "Installed", kind="date", sort="installed", secondary=True, width=14),
)

FILTERS = (
    Filter("q", "Search by name or publisher", placeholder="chrome<121"),
    Filter("device", "Device", kind="hidden"),
)


def build(session: Session, *, scope: Scope, filters: Mapping[str, str], now: datetime, **_: Any) -> Any:
    device = int_filter(filters, "device")
    if device is None:
        raise ServiceError("device: which device's programs?")
    q = (
        select(SoftwarePackage, col(DeviceSoftware.install_date))
        .join(DeviceSoftware, col(DeviceSoftware.package_id) == col(SoftwarePackage.id))
        .where(DeviceSoftware.device_id == device)
    )
    if scope is not None:
        q = q.where(col(DeviceSoftware.site_id).in_(list(scope)))
    text = filters.get("q")
    if text:
        vq = parse_version_query(text)
        if vq is None:
            like = contains_pattern(text.casefold())
            q = q.where(
                col(SoftwarePackage.name_fold).like(like, escape="/")
                | func.lower(func.coalesce(col(SoftwarePackage.vendor), "")).like(like, escape="/")
            )
        else:
            q = q.where(package_condition(text, vq, dialect=session.get_bind().dialect.name))
    return q


def shape(session: Session, rows: list[Any], *, now: datetime, **_: Any) -> list[dict[str, Any]]:
    return [
        {
            "id": p.id,
            "name": p.name,
            "version": p.version,
            "publisher": p.vendor or "",
            "installed": installed,
        }
        for p, installed in rows
    ]


TABLE = Table(
    name="device_software",
    title="Installed software",
    columns=COLUMNS,
    filters=FILTERS,
    sorting=SORTING,
    export_stem="phan-mem-thiet-bi",
    build=build,
    shape=shape,
)
