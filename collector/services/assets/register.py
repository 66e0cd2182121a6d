"""The register listing (one row per device with its asset record and score) and the fleet report."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from collector.localtime import today as local_today
from collector.models.assets import Asset, DeviceScore, LifecycleStatus
from collector.models.core import Device, DeviceSection, Site
from collector.services.assets.values import Scope
from collector.services.scoring import load_config, recompute_scores


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
        from collector.services.planning import scoped_device_ids

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
