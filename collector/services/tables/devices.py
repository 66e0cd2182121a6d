"""Every device of the city (as the user's sites allow), filtered by site, group, kind, software
(``winrar<6.23``) or a search text, sorted by hostname, site, serial or last report."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, or_
from sqlmodel import Session, col, select

from collector.models.core import Device, DeviceKind, DeviceResult, DeviceSection, Site
from collector.models.search import DeviceAddress, DeviceSoftware, SoftwarePackage
from collector.services import paging
from collector.services.errors import ServiceError
from collector.services.search import contains_pattern, ip_pattern, mac_pattern, package_condition
from collector.services.tables.base import (
    Column,
    Filter,
    Scope,
    Table,
    group_site_ids,
    int_filter,
    site_id_of,
)
from collector.services.versions import parse_version_query

# Never NULL in practice: the ingest that creates a device sets it in the same transaction (a plain
# column, so that the sort walks ix_device_last_report_id instead of sorting every device).
LAST_REPORT = col(Device.last_report_at)

SORTING = paging.Sorting(
    keys=(
        paging.SortKey("hostname", (col(Device.hostname),)),
        paging.SortKey("site", (col(Site.code), col(Device.hostname))),
        paging.SortKey("last_report", (LAST_REPORT,)),
        paging.SortKey("serial", (func.coalesce(col(Device.serial), ""),)),
        paging.SortKey("kind", (col(Device.kind), col(Device.hostname))),
    ),
    tiebreak=col(Device.id),
    default="hostname",
)

COLUMNS = (
    Column("hostname", "Hostname", sort="hostname", width=28),
    Column("site", "Site", sort="site", width=26),
    Column("kind", "Type", kind="device_kind", sort="kind", secondary=True, width=16),
    Column("os", "Operating system", secondary=True, width=26),
    Column("ip", "IP addresses", secondary=True, width=18),
    Column("serial", "Serial number", sort="serial", secondary=True, width=20),
    Column("last_report", "Last report", kind="datetime", sort="last_report", width=18),
    Column("failed", "Checks failed", kind="int", width=10),
)

FILTERS = (
    Filter("q", "Hostname, serial, MAC or IP", placeholder="pc-motcua-01"),
    Filter("site", "Site", kind="site"),
    Filter("group", "Group", kind="group"),
    Filter(
        "kind", "Type", kind="select", choices=(("host", "Computer"), ("network_device", "Network device"))
    ),
    Filter("software", "Software", placeholder="winrar<6.23"),
    Filter("package", "Program", kind="hidden"),
    Filter("silent", "Silent", kind="select", choices=(("yes", "Only silent devices"),)),
)


def build(
    session: Session,
    *,
    scope: Scope,
    filters: Mapping[str, str],
    now: datetime,
    stale_minutes: int = 30,
    **_: Any,
) -> Any:
    q = select(Device, Site).join(Site, col(Site.id) == col(Device.site_id))
    if scope is not None:
        q = q.where(col(Device.site_id).in_(list(scope)))
    if filters.get("site"):
        q = q.where(Device.site_id == site_id_of(session, filters["site"], scope))
    if filters.get("group"):
        q = q.where(col(Device.site_id).in_(group_site_ids(session, filters["group"], scope)))
    if filters.get("kind"):
        q = q.where(Device.kind == filters["kind"])
    if filters.get("silent") == "yes":
        cutoff = now - timedelta(minutes=stale_minutes)
        q = q.where(or_(col(Device.last_report_at).is_(None), col(Device.last_report_at) < cutoff))
    text = filters.get("q")
    if text:
        like = contains_pattern(text)
        conds = [col(Device.hostname).ilike(like, escape="/"), col(Device.serial).ilike(like, escape="/")]
        mac = mac_pattern(text)
        if mac:
            conds.append(
                exists().where(
                    DeviceAddress.device_id == Device.id,
                    DeviceAddress.kind == "mac",
                    col(DeviceAddress.value).like(contains_pattern(mac), escape="/"),
                )
            )
        ip = ip_pattern(text)
        if ip:
            value, exact = ip
            match = DeviceAddress.value == value if exact else col(DeviceAddress.value).startswith(value)
            conds.append(
                exists().where(DeviceAddress.device_id == Device.id, DeviceAddress.kind == "ip", match)
            )
            conds.append(Device.address == value if exact else col(Device.address).startswith(value))
        q = q.where(or_(*conds))
    software = filters.get("software")
    if software:
        if len(software) < 2:
            raise ServiceError("software: type at least 2 characters")
        dialect = session.get_bind().dialect.name
        cond = package_condition(software, parse_version_query(software), dialect=dialect)
        # From the few matching packages to their devices (an index walk), not a test per device.
        packages = select(SoftwarePackage.id).where(cond)
        q = q.where(
            col(Device.id).in_(
                select(DeviceSoftware.device_id).where(col(DeviceSoftware.package_id).in_(packages))
            )
        )
    package = int_filter(filters, "package")
    if package is not None:
        q = q.where(
            col(Device.id).in_(select(DeviceSoftware.device_id).where(DeviceSoftware.package_id == package))
        )
    return q


def shape(
    session: Session, rows: list[Any], *, now: datetime, stale_minutes: int = 30, **_: Any
) -> list[dict[str, Any]]:
    ids = [d.id for d, _s in rows]
    os_names: dict[int, str] = {}
    addresses: dict[int, list[str]] = {}
    failed: dict[int, int] = {}
    if ids:
        for did, data in session.exec(
            select(DeviceSection.device_id, DeviceSection.data).where(
                col(DeviceSection.device_id).in_(ids), DeviceSection.section == "os"
            )
        ).all():
            if isinstance(data, dict):
                os_names[did] = " ".join(str(p) for p in (data.get("name"), data.get("version")) if p)
        for did, value in session.exec(
            select(DeviceAddress.device_id, DeviceAddress.value)
            .where(col(DeviceAddress.device_id).in_(ids), DeviceAddress.kind == "ip")
            .order_by(col(DeviceAddress.value))
        ).all():
            addresses.setdefault(did, []).append(value)
        failed = dict(
            session.exec(
                select(DeviceResult.device_id, func.count())
                .where(col(DeviceResult.device_id).in_(ids), DeviceResult.status == "fail")
                .group_by(col(DeviceResult.device_id))
            ).all()
        )
    stale_before = now - timedelta(minutes=stale_minutes)
    out = []
    for device, site in rows:
        did = device.id or 0
        ips = addresses.get(did) or ([device.address] if device.address else [])
        out.append(
            {
                "id": did,
                "hostname": device.hostname,
                "hostname_href": f"/devices/{did}",
                "hostname_flag": "clone" if device.clone_of_id else None,
                "site": site.name,
                "site_code": site.code,
                "site_href": f"/sites/{site.code}",
                "kind": device.kind
                if device.kind in (DeviceKind.HOST, DeviceKind.NETWORK_DEVICE)
                else "host",
                "os": os_names.get(did) or device.platform or "",
                "ip": ", ".join(ips[:3]),
                "serial": device.serial or "",
                "mac": device.mac or "",
                "last_report": device.last_report_at,
                "stale": device.last_report_at is None or device.last_report_at < stale_before,
                "failed": int(failed.get(did, 0)),
            }
        )
    return out


TABLE = Table(
    name="devices",
    title="Devices",
    columns=COLUMNS,
    filters=FILTERS,
    sorting=SORTING,
    export_stem="thiet-bi",
    build=build,
    shape=shape,
)
