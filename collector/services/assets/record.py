"""One device's asset record: read it, change it (checked, audited, scores recomputed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from collector.localtime import today as local_today
from collector.models.assets import MAX_COST_VND, Asset, DeviceClass, LifecycleStatus
from collector.models.core import Device
from collector.models.types import utcnow
from collector.services.assets.values import EDITABLE, Scope
from collector.services.audit import record
from collector.services.errors import Conflict, NotFound, ServiceError
from collector.services.scoring import load_config, recompute_scores


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
        raise NotFound("no device %(device_id)s", device_id=device_id)
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
        raise ServiceError("unknown lifecycle status %(status)s", status=repr(ch.status))
    if ch.device_class is not None and ch.device_class not in {c.value for c in DeviceClass}:
        raise ServiceError("unknown device class %(device_class)s", device_class=repr(ch.device_class))
    if ch.purchase_cost is not None and ch.purchase_cost < 0:
        raise ServiceError("the purchase cost cannot be negative")
    if ch.purchase_cost is not None and ch.purchase_cost > MAX_COST_VND:
        raise ServiceError(
            "the purchase cost is more than %(max)s VND", max=f"{MAX_COST_VND:,}".replace(",", ".")
        )
    if ch.asset_tag is not None and len(ch.asset_tag) > 64:
        raise ServiceError("an asset tag has at most %(n)s characters", n=64)
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
            raise Conflict(
                "asset tag %(asset_tag)s is already used by %(hostname)s in this site",
                asset_tag=changes.asset_tag,
                hostname=holder.hostname,
            )
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
