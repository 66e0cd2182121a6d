"""The asset register as a table: every device with its asset record and replacement score; filtered
by site, group, lifecycle status, replacement category and device type."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, func, literal, or_
from sqlmodel import Session, col, select

from collector.models.assets import Asset, DeviceClass, DeviceScore, LifecycleStatus, ScoreCategory
from collector.models.core import Device, DeviceSection, Site
from collector.services import paging
from collector.services.search import contains_pattern
from collector.services.tables.base import Column, Filter, Scope, Table, group_site_ids, site_id_of

LONG_AGO = literal(date(1900, 1, 1), Date())

SORTING = paging.Sorting(
    keys=(
        paging.SortKey("site", (col(Site.code), col(Device.hostname))),
        paging.SortKey("hostname", (col(Device.hostname),)),
        paging.SortKey("asset_tag", (func.coalesce(col(Asset.asset_tag), ""),)),
        paging.SortKey("purchase_date", (func.coalesce(col(Asset.purchase_date), LONG_AGO),)),
        paging.SortKey("warranty_end", (func.coalesce(col(Asset.warranty_end), LONG_AGO),)),
        paging.SortKey("score", (func.coalesce(col(DeviceScore.score), -1),)),
    ),
    tiebreak=col(Device.id),
    default="site",
)

COLUMNS = (
    Column("site", "Commune", sort="site", width=24),
    Column("hostname", "Device", sort="hostname", width=24),
    Column("serial", "Serial", secondary=True, width=18),
    Column("asset_tag", "Asset tag", sort="asset_tag", width=16),
    Column("device_class", "Type", kind="device_class", secondary=True, width=16),
    Column("model", "Device model", secondary=True, width=24),
    Column("purchase_date", "Purchase date", kind="date", sort="purchase_date", width=14),
    Column("warranty_end", "Warranty until", kind="date", sort="warranty_end", secondary=True, width=14),
    Column("status", "Lifecycle status", kind="lifecycle", width=16),
    Column("score", "Score", kind="int", sort="score", width=8),
    Column("category", "Category", kind="category", width=20),
)

FILTERS = (
    Filter("q", "Device, serial or asset tag", placeholder="TS-2019"),
    Filter("site", "Site", kind="site"),
    Filter("group", "Group", kind="group"),
    Filter(
        "status",
        "Lifecycle status",
        kind="select",
        choices=(
            (LifecycleStatus.IN_SERVICE.value, "in service"),
            (LifecycleStatus.SPARE.value, "spare"),
            (LifecycleStatus.TO_REPLACE.value, "to replace"),
            (LifecycleStatus.RETIRED.value, "retired"),
        ),
    ),
    Filter(
        "category",
        "Category",
        kind="select",
        choices=(
            (ScoreCategory.REPLACE_NOW.value, "replace now"),
            (ScoreCategory.PLAN_12_MONTHS.value, "plan within 12 months"),
            (ScoreCategory.MONITOR.value, "monitor"),
            (ScoreCategory.HEALTHY.value, "healthy"),
        ),
    ),
    Filter(
        "device_class",
        "Type",
        kind="select",
        choices=(
            (DeviceClass.DESKTOP.value, "desktop PC"),
            (DeviceClass.LAPTOP.value, "laptop"),
            (DeviceClass.SERVER.value, "server"),
            (DeviceClass.NETWORK_DEVICE.value, "network device"),
            (DeviceClass.OTHER.value, "other"),
        ),
    ),
)


def build(session: Session, *, scope: Scope, filters: Mapping[str, str], now: datetime, **_: Any) -> Any:
    q = (
        select(Device, Site, Asset, DeviceScore)
        .join(Site, col(Site.id) == col(Device.site_id))
        .join(Asset, col(Asset.device_id) == col(Device.id), isouter=True)
        .join(DeviceScore, col(DeviceScore.device_id) == col(Device.id), isouter=True)
    )
    if scope is not None:
        q = q.where(col(Device.site_id).in_(list(scope)))
    if filters.get("site"):
        q = q.where(Device.site_id == site_id_of(session, filters["site"], scope))
    if filters.get("group"):
        q = q.where(col(Device.site_id).in_(group_site_ids(session, filters["group"], scope)))
    status = filters.get("status")
    if status == LifecycleStatus.IN_SERVICE:
        q = q.where(or_(col(Asset.status).is_(None), Asset.status == status))
    elif status:
        q = q.where(Asset.status == status)
    if filters.get("category"):
        q = q.where(DeviceScore.category == filters["category"])
    if filters.get("device_class"):
        q = q.where(
            func.coalesce(col(Asset.device_class), col(DeviceScore.device_class)) == filters["device_class"]
        )
    if filters.get("q"):
        like = contains_pattern(filters["q"])
        q = q.where(
            or_(
                col(Device.hostname).ilike(like, escape="/"),
                col(Device.serial).ilike(like, escape="/"),
                col(Asset.asset_tag).ilike(like, escape="/"),
            )
        )
    return q


def shape(session: Session, rows: list[Any], *, now: datetime, **_: Any) -> list[dict[str, Any]]:
    ids = [d.id for d, *_rest in rows]
    systems: dict[int, dict[str, Any]] = {}
    if ids:
        for did, data in session.exec(
            select(DeviceSection.device_id, DeviceSection.data).where(
                col(DeviceSection.device_id).in_(ids), DeviceSection.section == "system"
            )
        ).all():
            if isinstance(data, dict):
                systems[did] = data
    out = []
    for device, site, asset, score in rows:
        system = systems.get(device.id or 0, {})
        model = " ".join(str(x) for x in (system.get("vendor"), system.get("model")) if x) or device.platform
        out.append(
            {
                "id": device.id,
                "site": site.name,
                "site_code": site.code,
                "site_href": f"/sites/{site.code}",
                "hostname": device.hostname,
                "hostname_href": f"/planning/assets/{device.id}",
                "serial": device.serial or "",
                "asset_tag": asset.asset_tag if asset and asset.asset_tag else "",
                "device_class": (asset.device_class if asset and asset.device_class else None)
                or (score.device_class if score else ""),
                "model": model or "",
                "purchase_date": asset.purchase_date if asset else None,
                "warranty_end": asset.warranty_end if asset else None,
                "status": asset.status if asset else LifecycleStatus.IN_SERVICE.value,
                "score": score.score if score else None,
                "category": score.category if score else "",
            }
        )
    return out


TABLE = Table(
    name="assets",
    title="Asset register",
    columns=COLUMNS,
    filters=FILTERS,
    sorting=SORTING,
    export_stem="so-tai-san",
    build=build,
    shape=shape,
)
