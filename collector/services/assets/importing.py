"""Importing an existing asset list (CSV): preview the matches, then apply them.

An import is two steps. ``preview_import`` parses the CSV (``collector.services.csv_import``: the rules
every import follows), matches each row to a device (by asset tag, else by serial number) and says what
would change, writing nothing; ``apply_import`` runs the same preview again and applies the rows that
matched. A row that matches no device, or two, is listed and never guessed.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from collector.models.assets import Asset
from collector.models.core import Device, Site
from collector.models.types import utcnow
from collector.services.assets.values import (
    HEADER_ALIASES,
    MAX_IMPORT_ROWS,
    Scope,
    normal_serial,
    parse_class,
    parse_date,
    parse_money,
    parse_status,
)
from collector.services.audit import record
from collector.services.csv_import import read_csv
from collector.services.errors import ServiceError
from collector.services.scoring import load_config, recompute_scores


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
    message: str | None = None  # English (the API's answer)
    # The same as a msgid and parameters, for a page in the reader's language (ServiceError.text).
    reason: ServiceError | None = field(default=None, repr=False, compare=False)

    def say(self, msgid: str, **params: object) -> None:
        self.reason = ServiceError(msgid, **params)
        self.message = str(self.reason)

    def text(self, lang: str) -> str:
        return self.reason.text(lang) if self.reason is not None else (self.message or "")


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
    # The rules every CSV import follows (collector.services.csv_import); headers through the aliases.
    table = read_csv(text, aliases=HEADER_ALIASES, max_rows=MAX_IMPORT_ROWS)
    if "serial" not in table.columns and "asset_tag" not in table.columns:
        raise ServiceError(
            "the CSV needs a header row with a 'serial' or an 'asset_tag' column "
            "(also: purchase_date, purchase_cost, supplier, warranty_end, status, device_class)"
        )
    return table.columns, table.rows


def _parse_values(row: dict[str, str], line: int) -> dict[str, Any]:
    try:
        return _row_values(row)
    except ServiceError as exc:  # the cell's problem, in the reader's language, after its line
        raise ServiceError("line %(line)s: %(problem)s", line=line, problem=exc) from None


def _row_values(row: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "purchase_date" in row:
        out["purchase_date"] = parse_date(row["purchase_date"], "purchase_date")
    if "warranty_end" in row:
        out["warranty_end"] = parse_date(row["warranty_end"], "warranty_end")
    if "purchase_cost" in row:
        out["purchase_cost"] = parse_money(row["purchase_cost"], "purchase_cost")
    if "supplier" in row:
        out["supplier"] = row["supplier"][:255] or None
    if "status" in row:
        status = parse_status(row["status"], "status")
        if status:
            out["status"] = status
    if "device_class" in row:
        cls = parse_class(row["device_class"], "device_class")
        if cls:
            out["device_class"] = cls
    if row.get("asset_tag"):
        if len(row["asset_tag"]) > 64:
            raise ServiceError("an asset tag has at most %(n)s characters", n=64)
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
            item.action, item.reason, item.message = "error", exc, str(exc)
            continue
        if tag and tag.upper() in seen_tags:
            item.action = "conflict"
            item.say(
                "asset tag %(asset_tag)s also on line %(line)s", asset_tag=tag, line=seen_tags[tag.upper()]
            )
            continue
        if tag:
            seen_tags[tag.upper()] = line
        target: tuple[Device, Site] | None = None
        tagged = by_tag.get(tag.upper(), []) if tag else []
        if len(tagged) > 1:  # the same tag in several of the caller's sites: the serial decides
            tagged = [a for a in tagged if serial and normal_serial(devices[a.device_id][0].serial) == serial]
            if len(tagged) != 1:
                item.action = "ambiguous"
                item.say(
                    "asset tag %(asset_tag)s is used in several of your sites; add the serial number",
                    asset_tag=tag,
                )
                continue
        if tagged:
            target, item.matched_by = devices[tagged[0].device_id], "asset_tag"
        if serial:
            hits = by_serial.get(serial, [])
            if target is None:
                if len(hits) > 1:
                    item.action = "ambiguous"
                    names = ", ".join(sorted(d.hostname for d, _ in hits))
                    item.say(
                        "serial %(serial)s matches %(n)s devices: %(names)s",
                        serial=serial,
                        n=len(hits),
                        names=names,
                    )
                    continue
                if hits:
                    target, item.matched_by = hits[0], "serial"
            elif hits and all(d.id != target[0].id for d, _ in hits):
                item.action = "conflict"
                item.say(
                    "asset tag %(asset_tag)s is on %(hostname)s, serial %(serial)s on another device",
                    asset_tag=tag,
                    hostname=target[0].hostname,
                    serial=serial,
                )
                continue
        if target is None:
            item.say("no device with this serial number or asset tag")
            continue
        device, site = target
        item.device_id, item.hostname, item.site = device.id, device.hostname, site.code
        if (device.id or 0) in seen_devices:
            item.action = "conflict"
            item.say("the same device is already on line %(line)s", line=seen_devices[device.id or 0])
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
                item.say(
                    "asset tag %(asset_tag)s is already used by %(hostname)s in this site",
                    asset_tag=tag,
                    hostname=holder.hostname,
                )
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
