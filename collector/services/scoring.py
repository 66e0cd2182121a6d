"""Replacement priority (docs/planning.md, "The score"), the database part (the factors themselves:
``scoring_factors``).

Weights and thresholds come from ``collector/data/scoring.yaml`` (override: ``WARDWATCH_SCORING_CONFIG``).
``recompute_scores`` reads a device's facts, results and asset record in a few batched queries and
writes a score row only when its inputs changed; ``refresh_device_scores`` is the entry point a job
queue calls per batch of devices. Each written score also updates ``device_score_current``, the
narrow row the replacement ranking reads with one indexed query (``collector.services.ranking``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, col, select

from collector.localtime import today as local_today
from collector.models.assets import Asset, DeviceScore, LifecycleStatus
from collector.models.core import Device, DeviceResult, DeviceSection
from collector.models.ranking import DeviceScoreCurrent
from collector.models.types import utcnow
from collector.services.scoring_config import (  # noqa: F401  (re-exported)
    CONFIG_ENV,
    AdequacyConfig,
    AgeConfig,
    BatteryConfig,
    InstabilityConfig,
    OsSupportConfig,
    ScoringConfig,
    ScoringConfigError,
    StorageConfig,
    load_config,
    shipped_config_text,
)
from collector.services.scoring_factors import (  # noqa: F401  (re-exported)
    FACTORS,
    GIB,
    AssetView,
    Factor,
    ResultView,
    ScoreResult,
    catalog_check_ids,
    device_class_of,
    is_virtual,
    score_device,
)
from collector.services.scoring_text import (  # noqa: F401
    CATEGORY_LABELS,
    FACTOR_LABELS,
    MESSAGES,
    category_label,
    factor_label,
    render_evidence,
)
from inventory.facts import Facts

log = logging.getLogger(__name__)

# Fact sections a score reads; a report changing none of them leaves the score as it is.
SECTIONS = ("system", "os", "cpu", "memory", "disks", "filesystems", "batteries", "security", "health")

# ---- storage -----------------------------------------------------------------------------------


def _facts_from_sections(sections: dict[str, Any]) -> Facts:
    """Facts from stored section data; a section that no longer validates is left out, not fatal."""
    data = {k: v for k, v in sections.items() if k in SECTIONS}
    try:
        return Facts.model_validate(data)
    except ValidationError:
        good: dict[str, Any] = {}
        for name, value in data.items():
            try:
                Facts.model_validate({name: value})
                good[name] = value
            except ValidationError:
                log.warning("stored section %s no longer matches the fact model; scored without it", name)
        return Facts.model_validate(good)


def _asset_view(asset: Asset | None) -> AssetView | None:
    if asset is None:
        return None
    return AssetView(purchase_date=asset.purchase_date, device_class=asset.device_class, status=asset.status)


def _inputs_hash(
    sections: dict[str, Any],
    results: dict[str, ResultView],
    asset: AssetView | None,
    digest: str,
    today: date,
) -> str:
    payload = {
        "s": {k: sections[k] for k in sorted(sections) if k in SECTIONS},
        "r": {k: [v.status, v.evidence, v.observed] for k, v in sorted(results.items())},
        "a": [str(asset.purchase_date), asset.device_class, asset.status] if asset else None,
        "c": digest,
        "d": today.isoformat(),
    }
    raw = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":")).encode()
    return hashlib.sha256(raw).hexdigest()


def _relevant_ids(config: ScoringConfig) -> set[str]:
    c = config.os_support
    return set(c.supported_check_ids or catalog_check_ids("host.os_supported")) | set(
        c.windows11_check_ids or catalog_check_ids("host.windows11_eligible")
    )


def _chunks(ids: list[int], size: int = 500) -> list[list[int]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def recompute_scores(
    session: Session,
    *,
    device_ids: list[int] | None = None,
    config: ScoringConfig | None = None,
    today: date | None = None,
    sections_override: dict[int, dict[str, Any]] | None = None,
) -> int:
    """Score the given devices (default: all); write rows whose inputs changed. Returns rows written.

    The ranking row (``device_score_current``) of each device is written with its score, and also
    when only it is missing or out of date (another day, another configuration, a new unit cost)."""
    from collector.services import ranking  # the ranking reads scores; it never imports this module

    config = config or load_config()
    today = today or local_today()
    if device_ids is None:
        device_ids = list(session.exec(select(Device.id)).all())
    ids = [i for i in device_ids if i is not None]
    if not ids:
        return 0
    digest = config.digest()
    relevant = _relevant_ids(config)
    costs = ranking.unit_costs(session, config)
    written = 0
    for chunk in _chunks(ids):
        # A device with its asset record, stored score and ranking row: one statement, not four.
        joined = (
            select(Device, Asset, DeviceScore, DeviceScoreCurrent)
            .outerjoin(Asset, col(Asset.device_id) == col(Device.id))
            .outerjoin(DeviceScore, col(DeviceScore.device_id) == col(Device.id))
            .outerjoin(DeviceScoreCurrent, col(DeviceScoreCurrent.device_id) == col(Device.id))
            .where(col(Device.id).in_(chunk))
        )
        devices: dict[int | None, Device] = {}
        assets: dict[int, Asset] = {}
        scores: dict[int, DeviceScore] = {}
        current: dict[int, DeviceScoreCurrent] = {}
        for dev, record, stored, ranked in session.exec(joined).all():
            devices[dev.id] = dev
            if record is not None:
                assets[record.device_id] = record
            if stored is not None:
                scores[stored.device_id] = stored
            if ranked is not None:
                current[ranked.device_id] = ranked
        sections: dict[int, dict[str, Any]] = {i: {} for i in chunk}
        q = select(DeviceSection).where(
            col(DeviceSection.device_id).in_(chunk), col(DeviceSection.section).in_(SECTIONS)
        )
        for section_row in session.exec(q).all():
            sections[section_row.device_id][section_row.section] = section_row.data
        for dev_id, extra in (sections_override or {}).items():
            if dev_id in sections:
                sections[dev_id].update({k: v for k, v in extra.items() if k in SECTIONS})
        results: dict[int, dict[str, ResultView]] = {i: {} for i in chunk}
        if relevant:
            rq = select(DeviceResult).where(
                col(DeviceResult.device_id).in_(chunk),
                col(DeviceResult.check_id).in_(relevant),
                DeviceResult.target == "",
            )
            for r in session.exec(rq).all():
                results[r.device_id][r.check_id] = ResultView(r.status, r.evidence, r.observed or {})
        now = utcnow()
        for dev_id in chunk:
            device = devices.get(dev_id)
            if device is None:
                continue
            asset = _asset_view(assets.get(dev_id))
            h = _inputs_hash(sections[dev_id], results[dev_id], asset, digest, today)
            row = scores.get(dev_id)
            status = asset.status if asset else LifecycleStatus.IN_SERVICE.value
            if row is not None and row.inputs_hash == h:
                cur = current.get(dev_id)
                if (
                    cur is None
                    or cur.site_id != device.site_id
                    or cur.status != status
                    or cur.config_digest != digest
                    or cur.computed_on != row.computed_on
                    or cur.cost != costs.get(row.device_class)
                ):
                    ranking.write_current(
                        session,
                        device=device,
                        score=row,
                        status=status,
                        costs=costs,
                        config_digest=digest,
                        row=cur,
                    )
                continue
            facts = _facts_from_sections(sections[dev_id])
            result = score_device(
                facts, config=config, today=today, results=results[dev_id], asset=asset, kind=device.kind
            )
            values = {
                "score": result.score,
                "category": result.category.value,
                "device_class": result.device_class,
                "factors": [f.as_dict() for f in result.factors],
                "category_reason": result.category_reason,
                "virtual": result.virtual,
                "inputs_hash": h,
                "computed_at": now,
                "computed_on": today,
            }
            if row is None:
                row = DeviceScore(device_id=dev_id, **values)
            else:
                for k, v in values.items():
                    setattr(row, k, v)
            session.add(row)
            ranking.write_current(
                session,
                device=device,
                score=row,
                status=status,
                costs=costs,
                config_digest=digest,
                row=current.get(dev_id),
            )
            written += 1
    session.flush()
    return written


def refresh_device_scores(session: Session, device_ids: Iterable[int]) -> int:
    """Bring the stored scores and ranking rows of ``device_ids`` up to date (rows whose inputs did not
    change cost a read). The entry point of background scoring (a job per batch of devices)."""
    return recompute_scores(session, device_ids=list(device_ids))
