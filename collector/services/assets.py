"""The asset register: edit one device's record, import an existing asset list, report on the fleet.

An import is two steps. ``preview_import`` parses the CSV, matches each row to a device (by asset
tag, else by serial number) and says what would change, writing nothing; ``apply_import`` runs the
same preview again and applies the rows that matched. A row that matches no device, or two, is
listed and never guessed.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from collector.localtime import today as local_today
from collector.models.assets import MAX_COST_VND, Asset, DeviceClass, DeviceScore, LifecycleStatus
from collector.models.core import Device, DeviceSection, Site
from collector.models.types import utcnow
from collector.services.audit import record
from collector.services.errors import Conflict, NotFound, ServiceError
from collector.services.scoring import load_config, recompute_scores

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
# The largest amount, written as errors show it (dots between thousands, as in Vietnamese).
_MAX_VND = f"{MAX_COST_VND:,}".replace(",", ".")
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
            f"{what}: unknown device class {value!r} ({', '.join(c.value for c in DeviceClass)})"
        )
    return CLASS_ALIASES[v]


# ---- one record --------------------------------------------------------------------------------


@dataclass
class AssetChanges:
    asset_tag: str | None = None
    purchase_date: date | None = None
    purchase_cost: int | None = None
    supplier: str | None = None
    warranty_end: date | None = None
    status: str | None = None
    device_class: str | None = None
    notes: str | None = None
    # Which of the fields above to write (a field left out keeps its value; given as None clears it).
    fields: frozenset[str] = frozenset()


def _device_in_scope(session: Session, device_id: int, scope: Scope) -> Device:
    device = session.get(Device, device_id)
    if device is None or (scope is not None and device.site_id not in scope):
        raise NotFound(f"no device {device_id}")
    return device


def get_asset(session: Session, device_id: int, *, scope: Scope) -> tuple[Device, Asset | None]:
    device = _device_in_scope(session, device_id, scope)
    return device, session.get(Asset, device_id)


def _tag_holder(session: Session, tag: str, *, site_id: int) -> Device | None:
    """The device of ``site_id`` that carries asset tag ``tag`` (any case). Tags are unique per site:
    each commune numbers its own equipment, and other sites' tags are none of its business."""
    q = (
        select(Device)
        .join(Asset, col(Asset.device_id) == col(Device.id))
        .where(Device.site_id == site_id, func.upper(Asset.asset_tag) == tag.strip().upper())
    )
    return session.exec(q).first()


def _check_values(ch: AssetChanges) -> None:
    if ch.status is not None and ch.status not in {s.value for s in LifecycleStatus}:
        raise ServiceError(f"unknown lifecycle status {ch.status!r}")
    if ch.device_class is not None and ch.device_class not in {c.value for c in DeviceClass}:
        raise ServiceError(f"unknown device class {ch.device_class!r}")
    if ch.purchase_cost is not None and ch.purchase_cost < 0:
        raise ServiceError("the purchase cost cannot be negative")
    if ch.purchase_cost is not None and ch.purchase_cost > MAX_COST_VND:
        raise ServiceError(f"the purchase cost is more than {MAX_COST_VND:,} VND".replace(",", "."))
    if ch.asset_tag is not None and len(ch.asset_tag) > 64:
        raise ServiceError("an asset tag has at most 64 characters")
    if ch.purchase_date and ch.purchase_date > local_today():
        raise ServiceError("the purchase date is in the future")


def update_asset(
    session: Session, device_id: int, changes: AssetChanges, *, scope: Scope, actor: str
) -> Asset:
    """Write the given fields of a device's asset record and rescore the device."""
    device = _device_in_scope(session, device_id, scope)
    _check_values(changes)
    if "asset_tag" in changes.fields and changes.asset_tag:
        holder = _tag_holder(session, changes.asset_tag, site_id=device.site_id)
        if holder is not None and holder.id != device_id:
            raise Conflict(f"asset tag {changes.asset_tag} is already used by {holder.hostname} in this site")
    asset = session.get(Asset, device_id) or Asset(device_id=device_id)
    before = {k: getattr(asset, k) for k in (*EDITABLE, "notes")}
    for name in changes.fields:
        value = getattr(changes, name)
        if name == "status" and value is None:
            value = LifecycleStatus.IN_SERVICE
        setattr(asset, name, value)
    asset.updated_at, asset.updated_by = utcnow(), actor
    session.add(asset)
    diff = {k: [_j(before[k]), _j(getattr(asset, k))] for k in before if before[k] != getattr(asset, k)}
    record(
        session,
        actor=actor,
        action="asset.update",
        target=str(device_id),
        detail=diff,
        sites=[device.site_id],
    )
    session.flush()
    recompute_scores(session, device_ids=[device_id], config=load_config())
    return asset


def _j(v: Any) -> Any:
    return v.isoformat() if isinstance(v, date) else v


# ---- CSV import --------------------------------------------------------------------------------


@dataclass
class ImportRow:
    line: int
    serial: str | None
    asset_tag: str | None
    values: dict[str, Any]
    action: str  # create, update, unchanged, no_match, ambiguous, conflict, error
    device_id: int | None = None
    hostname: str | None = None
    site: str | None = None
    matched_by: str | None = None  # asset_tag, serial
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    message: str | None = None


@dataclass
class ImportPreview:
    rows: list[ImportRow]
    columns: list[str]

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)

    @property
    def applicable(self) -> list[ImportRow]:
        return [r for r in self.rows if r.action in ("create", "update")]

    def summary(self) -> dict[str, int]:
        return dict(sorted(Counter(r.action for r in self.rows).items()))


def _read_csv(text: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    try:
        return _read_rows(text)
    except csv.Error as exc:
        # A quote never closed, a bare carriage return in a field: say where, write nothing.
        raise ServiceError(f"not valid CSV: {exc}") from None


def _read_rows(text: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise ServiceError("the CSV file is empty")
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = next(reader)
    except StopIteration:
        raise ServiceError("the CSV file is empty") from None
    columns: list[str] = []
    for raw in header:
        key = raw.strip().lower()
        columns.append(HEADER_ALIASES.get(key, ""))
    if "serial" not in columns and "asset_tag" not in columns:
        raise ServiceError(
            "the CSV needs a header row with a 'serial' or an 'asset_tag' column "
            "(also: purchase_date, purchase_cost, supplier, warranty_end, status, device_class)"
        )
    rows: list[tuple[int, dict[str, str]]] = []
    for line_no, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        if len(rows) >= MAX_IMPORT_ROWS:
            raise ServiceError(f"the CSV has more than {MAX_IMPORT_ROWS} rows; split it")
        row = {col_name: v.strip() for col_name, v in zip(columns, values, strict=False) if col_name}
        rows.append((line_no, row))
    return [c for c in columns if c], rows


def _parse_values(row: dict[str, str], line: int) -> dict[str, Any]:
    where = f"line {line}"
    out: dict[str, Any] = {}
    if "purchase_date" in row:
        out["purchase_date"] = parse_date(row["purchase_date"], f"{where}, purchase_date")
    if "warranty_end" in row:
        out["warranty_end"] = parse_date(row["warranty_end"], f"{where}, warranty_end")
    if "purchase_cost" in row:
        out["purchase_cost"] = parse_money(row["purchase_cost"], f"{where}, purchase_cost")
    if "supplier" in row:
        out["supplier"] = row["supplier"][:255] or None
    if "status" in row:
        status = parse_status(row["status"], f"{where}, status")
        if status:
            out["status"] = status
    if "device_class" in row:
        cls = parse_class(row["device_class"], f"{where}, device_class")
        if cls:
            out["device_class"] = cls
    if row.get("asset_tag"):
        if len(row["asset_tag"]) > 64:
            raise ServiceError(f"{where}: an asset tag has at most 64 characters")
        out["asset_tag"] = row["asset_tag"]
    # Empty cells leave the stored value alone: an import fills gaps, it does not erase.
    return {k: v for k, v in out.items() if v is not None}


def preview_import(session: Session, text: str, *, scope: Scope) -> ImportPreview:
    """What importing ``text`` would do, row by row; writes nothing."""
    columns, rows = _read_csv(text)
    q = select(Device, Site).join(Site, col(Site.id) == col(Device.site_id))
    if scope is not None:
        q = q.where(col(Device.site_id).in_(scope))
    by_serial: dict[str, list[tuple[Device, Site]]] = defaultdict(list)
    devices: dict[int, tuple[Device, Site]] = {}
    for device, site in session.exec(q).all():
        devices[device.id or 0] = (device, site)
        key = normal_serial(device.serial)
        if key:
            by_serial[key].append((device, site))
    # Only the caller's sites: another site's tags are neither matched nor mentioned.
    assets = {a.device_id: a for a in session.exec(select(Asset)).all() if a.device_id in devices}
    by_tag: dict[str, list[Asset]] = defaultdict(list)
    for a in assets.values():
        if a.asset_tag:
            by_tag[a.asset_tag.strip().upper()].append(a)
    seen_devices: dict[int, int] = {}
    seen_tags: dict[str, int] = {}
    out: list[ImportRow] = []
    for line, row in rows:
        serial = normal_serial(row.get("serial"))
        tag = (row.get("asset_tag") or "").strip() or None
        item = ImportRow(line=line, serial=serial, asset_tag=tag, values={}, action="no_match")
        out.append(item)
        try:
            item.values = _parse_values(row, line)
        except ServiceError as exc:
            item.action, item.message = "error", str(exc)
            continue
        if tag and tag.upper() in seen_tags:
            item.action, item.message = "conflict", f"asset tag {tag} also on line {seen_tags[tag.upper()]}"
            continue
        if tag:
            seen_tags[tag.upper()] = line
        target: tuple[Device, Site] | None = None
        tagged = by_tag.get(tag.upper(), []) if tag else []
        if len(tagged) > 1:  # the same tag in several of the caller's sites: the serial decides
            tagged = [a for a in tagged if serial and normal_serial(devices[a.device_id][0].serial) == serial]
            if len(tagged) != 1:
                item.action = "ambiguous"
                item.message = f"asset tag {tag} is used in several of your sites; add the serial number"
                continue
        if tagged:
            target, item.matched_by = devices[tagged[0].device_id], "asset_tag"
        if serial:
            hits = by_serial.get(serial, [])
            if target is None:
                if len(hits) > 1:
                    item.action = "ambiguous"
                    names = ", ".join(sorted(d.hostname for d, _ in hits))
                    item.message = f"serial {serial} matches {len(hits)} devices: {names}"
                    continue
                if hits:
                    target, item.matched_by = hits[0], "serial"
            elif hits and all(d.id != target[0].id for d, _ in hits):
                item.action = "conflict"
                item.message = (
                    f"asset tag {tag} is on {target[0].hostname}, serial {serial} on another device"
                )
                continue
        if target is None:
            item.message = "no device with this serial number or asset tag"
            continue
        device, site = target
        item.device_id, item.hostname, item.site = device.id, device.hostname, site.code
        if (device.id or 0) in seen_devices:
            item.action = "conflict"
            item.message = f"the same device is already on line {seen_devices[device.id or 0]}"
            continue
        seen_devices[device.id or 0] = line
        if tag and item.matched_by == "serial":
            holder = next(
                (
                    devices[a.device_id][0]
                    for a in by_tag.get(tag.upper(), [])
                    if devices[a.device_id][1].id == site.id
                ),
                None,
            )
            if holder is not None and holder.id != device.id:
                item.action = "conflict"
                item.message = f"asset tag {tag} is already used by {holder.hostname} in this site"
                continue
        current = assets.get(device.id or 0)
        if tag and current is not None and current.asset_tag and current.asset_tag != tag:
            item.changes["asset_tag"] = (current.asset_tag, tag)
        for name, value in item.values.items():
            old = getattr(current, name) if current is not None else None
            if old != value and name not in item.changes:
                item.changes[name] = (old, value)
        if current is None:
            item.action = "create"
        else:
            item.action = "update" if item.changes else "unchanged"
    return ImportPreview(rows=out, columns=columns)


@dataclass
class ImportOutcome:
    created: int
    updated: int
    skipped: int
    preview: ImportPreview


def apply_import(session: Session, text: str, *, scope: Scope, actor: str) -> ImportOutcome:
    """Apply the rows of ``text`` that match one device each; others are left as the preview showed."""
    preview = preview_import(session, text, scope=scope)
    created = updated = 0
    touched: list[int] = []
    now = utcnow()
    for row in preview.applicable:
        assert row.device_id is not None
        asset = session.get(Asset, row.device_id)
        if asset is None:
            asset = Asset(device_id=row.device_id)
            created += 1
        else:
            updated += 1
        for name, value in row.values.items():
            setattr(asset, name, value)
        asset.updated_at, asset.updated_by = now, actor
        session.add(asset)
        touched.append(row.device_id)
    record(
        session,
        actor=actor,
        action="asset.import",
        detail={"created": created, "updated": updated, "rows": len(preview.rows)},
        sites=session.exec(select(Device.site_id).where(col(Device.id).in_(touched))).all()
        if touched
        else None,
    )
    session.flush()
    if touched:
        recompute_scores(session, device_ids=touched, config=load_config())
    skipped = len(preview.rows) - created - updated
    return ImportOutcome(created=created, updated=updated, skipped=skipped, preview=preview)


# ---- registry listing and the asset report -----------------------------------------------------


@dataclass
class RegistryRow:
    device: Device
    site: Site
    asset: Asset | None
    score: DeviceScore | None
    system: dict[str, Any]
    os: dict[str, Any]

    @property
    def model(self) -> str:
        s = self.system
        text = " ".join(str(x) for x in (s.get("vendor"), s.get("model")) if x)
        return text or self.device.platform or "—"

    @property
    def os_name(self) -> str:
        o = self.os
        if not o:
            return "—"
        name = str(o.get("name") or "")
        extra = o.get("display_version") or (o.get("version") if o.get("family") != "windows" else None)
        return f"{name} {extra}".strip() if extra and str(extra) not in name else name

    def age_years(self, today: date) -> int | None:
        if self.asset and self.asset.purchase_date:
            return max(0, int((today - self.asset.purchase_date).days / 365.25))
        bios = self.system.get("bios_date")
        if bios:
            try:
                return max(0, int((today - date.fromisoformat(str(bios)[:10])).days / 365.25))
            except ValueError:
                return None
        return None


def list_registry(
    session: Session, *, scope: Scope, site_code: str | None = None, refresh: bool = False
) -> list[RegistryRow]:
    """Every device in scope with its asset record, score and the facts the report shows."""
    if refresh:
        from collector.services.plan import scoped_device_ids

        recompute_scores(session, device_ids=scoped_device_ids(session, scope), config=load_config())
    q = (
        select(Device, Site, Asset, DeviceScore)
        .join(Site, col(Site.id) == col(Device.site_id))
        .join(Asset, col(Asset.device_id) == col(Device.id), isouter=True)
        .join(DeviceScore, col(DeviceScore.device_id) == col(Device.id), isouter=True)
        .order_by(Site.code, Device.hostname, Device.id)
    )
    if scope is not None:
        q = q.where(col(Device.site_id).in_(scope))
    if site_code:
        q = q.where(Site.code == site_code)
    rows = session.exec(q).all()
    ids = [d.id for d, *_ in rows]
    sections: dict[tuple[int, str], Any] = {}
    if ids:
        sq = select(DeviceSection).where(
            col(DeviceSection.device_id).in_(ids), col(DeviceSection.section).in_(("system", "os"))
        )
        for s in session.exec(sq).all():
            sections[(s.device_id, s.section)] = s.data
    return [
        RegistryRow(
            device=d,
            site=site,
            asset=a,
            score=sc,
            system=sections.get((d.id or 0, "system")) or {},
            os=sections.get((d.id or 0, "os")) or {},
        )
        for d, site, a, sc in rows
    ]


AGE_BANDS = ("0-2", "3-4", "5-6", "7-8", "9+", "?")


def age_band(years: int | None) -> str:
    if years is None:
        return "?"
    if years <= 2:
        return "0-2"
    if years <= 4:
        return "3-4"
    if years <= 6:
        return "5-6"
    if years <= 8:
        return "7-8"
    return "9+"


def os_support_state(row: RegistryRow) -> str:
    """supported, ending (within the config's window), ended, unknown: from the OS factor's evidence."""
    if row.score is None:
        return "unknown"
    factor = next((f for f in row.score.factors if f.get("name") == "os_support"), None)
    if factor is None or not factor.get("known"):
        return "unknown"
    codes = {e.get("code") for e in factor.get("evidence", [])}
    if "os_ended" in codes:
        return "ended"
    if "os_ending_no_upgrade" in codes:
        return "ending"
    return "supported"


@dataclass
class AssetReport:
    rows: list[RegistryRow]
    today: date
    by_site: dict[str, dict[str, Any]]

    def counter(self, key: str) -> Counter[str]:
        total: Counter[str] = Counter()
        for site in self.by_site.values():
            total.update(site[key])
        return total


def asset_report(session: Session, *, scope: Scope, today: date | None = None) -> AssetReport:
    """Counts by device class, age band, OS, model, OS support and health category, per commune."""
    today = today or local_today()
    rows = list_registry(session, scope=scope, refresh=True)
    by_site: dict[str, dict[str, Any]] = {}
    for r in rows:
        site = by_site.setdefault(
            r.site.code,
            {
                "name": r.site.name,
                "devices": 0,
                "class": Counter(),
                "age": Counter(),
                "os": Counter(),
                "model": Counter(),
                "support": Counter(),
                "category": Counter(),
                "status": Counter(),
            },
        )
        site["devices"] += 1
        site["class"][r.score.device_class if r.score else "other"] += 1
        site["age"][age_band(r.age_years(today))] += 1
        site["os"][r.os_name] += 1
        site["model"][r.model] += 1
        site["support"][os_support_state(r)] += 1
        site["category"][r.score.category if r.score else "unknown"] += 1
        site["status"][r.asset.status if r.asset else LifecycleStatus.IN_SERVICE] += 1
    return AssetReport(rows=rows, today=today, by_site=by_site)
