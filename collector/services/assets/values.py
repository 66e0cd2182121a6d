"""The asset register's values: editable fields, the aliases of CSV headers and values (English
and the Vietnamese planners write), and parsing one value with a message that names it."""

from __future__ import annotations

import re
from datetime import date, datetime

from collector.models.assets import MAX_COST_VND, DeviceClass, LifecycleStatus
from collector.services.errors import ServiceError

Scope = frozenset[int] | set[int] | None

EDITABLE = (
    "asset_tag",
    "purchase_date",
    "purchase_cost",
    "supplier",
    "warranty_end",
    "status",
    "device_class",
)
MAX_IMPORT_ROWS = 20_000
# Serial numbers firmware vendors leave in place of a real one: never a match.
PLACEHOLDER_SERIALS = frozenset(
    {
        "",
        "0",
        "none",
        "n/a",
        "na",
        "default string",
        "to be filled by o.e.m.",
        "to be filled by oem",
        "system serial number",
        "not specified",
        "not applicable",
        "redacted",
        "0123456789",
        "123456789",
        "chassis serial number",
    }
)

# CSV header -> field; English and the Vietnamese names planners' spreadsheets use.
HEADER_ALIASES: dict[str, str] = {
    "serial": "serial",
    "serial number": "serial",
    "serial_number": "serial",
    "số serial": "serial",
    "số sê-ri": "serial",
    "asset_tag": "asset_tag",
    "asset tag": "asset_tag",
    "tag": "asset_tag",
    "mã tài sản": "asset_tag",
    "purchase_date": "purchase_date",
    "purchase date": "purchase_date",
    "ngày mua": "purchase_date",
    "purchase_cost": "purchase_cost",
    "purchase cost": "purchase_cost",
    "cost": "purchase_cost",
    "nguyên giá": "purchase_cost",
    "giá mua": "purchase_cost",
    "supplier": "supplier",
    "nhà cung cấp": "supplier",
    "warranty_end": "warranty_end",
    "warranty end": "warranty_end",
    "warranty": "warranty_end",
    "hết bảo hành": "warranty_end",
    "bảo hành đến": "warranty_end",
    "status": "status",
    "trạng thái": "status",
    "device_class": "device_class",
    "class": "device_class",
    "loại": "device_class",
    "hostname": "hostname",
    "tên máy": "hostname",
}

STATUS_ALIASES: dict[str, str] = {
    "in_service": LifecycleStatus.IN_SERVICE,
    "in service": LifecycleStatus.IN_SERVICE,
    "đang sử dụng": LifecycleStatus.IN_SERVICE,
    "spare": LifecycleStatus.SPARE,
    "dự phòng": LifecycleStatus.SPARE,
    "to_replace": LifecycleStatus.TO_REPLACE,
    "to replace": LifecycleStatus.TO_REPLACE,
    "cần thay thế": LifecycleStatus.TO_REPLACE,
    "retired": LifecycleStatus.RETIRED,
    "đã thanh lý": LifecycleStatus.RETIRED,
    "thanh lý": LifecycleStatus.RETIRED,
}

CLASS_ALIASES: dict[str, str] = {
    "desktop": DeviceClass.DESKTOP,
    "máy tính để bàn": DeviceClass.DESKTOP,
    "laptop": DeviceClass.LAPTOP,
    "máy tính xách tay": DeviceClass.LAPTOP,
    "server": DeviceClass.SERVER,
    "máy chủ": DeviceClass.SERVER,
    "network_device": DeviceClass.NETWORK_DEVICE,
    "network device": DeviceClass.NETWORK_DEVICE,
    "thiết bị mạng": DeviceClass.NETWORK_DEVICE,
    "other": DeviceClass.OTHER,
    "khác": DeviceClass.OTHER,
}


# The largest amount, written as errors show it (dots between thousands, as in Vietnamese).
_MAX_VND = f"{MAX_COST_VND:,}".replace(",", ".")


def normal_serial(value: str | None) -> str | None:
    v = (value or "").strip()
    return None if v.lower() in PLACEHOLDER_SERIALS else v.upper()


def parse_date(value: str, what: str) -> date | None:
    """dd/mm/yyyy (as Vietnamese offices write it), d/m/yyyy, or ISO yyyy-mm-dd."""
    v = value.strip()
    if not v:
        return None
    for fmt in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(v, fmt).date()
        except ValueError:
            continue
    raise ServiceError(
        "%(what)s: %(value)s is not a date (write dd/mm/yyyy or yyyy-mm-dd)", what=what, value=repr(v)
    )


def parse_money(value: str, what: str) -> int | None:
    """VND as written in Vietnam: 15.000.000, 15 000 000, 15000000 ₫, 15.000.000 đ."""
    v = value.strip().lower().replace("₫", "").replace("vnd", "").replace("đồng", "").replace("đ", "")
    v = re.sub(r"[\s.,\u00a0]", "", v)
    if not v:
        return None
    if not v.isdigit():
        raise ServiceError(
            "%(what)s: %(value)s is not an amount in VND (e.g. 15.000.000)", what=what, value=repr(value)
        )
    if len(v) > 12 or int(v) > MAX_COST_VND:
        raise ServiceError(
            "%(what)s: %(value)s is more than %(max)s VND", what=what, value=repr(value), max=_MAX_VND
        )
    return int(v)


def parse_status(value: str, what: str) -> str | None:
    v = value.strip().lower()
    if not v:
        return None
    if v not in STATUS_ALIASES:
        raise ServiceError(
            "%(what)s: unknown status %(value)s (in_service, spare, to_replace, retired)",
            what=what,
            value=repr(value),
        )
    return STATUS_ALIASES[v]


def parse_class(value: str, what: str) -> str | None:
    v = value.strip().lower()
    if not v:
        return None
    if v not in CLASS_ALIASES:
        raise ServiceError(
            "%(what)s: unknown device class %(value)s (%(classes)s)",
            what=what,
            value=repr(value),
            classes=", ".join(c.value for c in DeviceClass),
        )
    return CLASS_ALIASES[v]
