"""The stored replacement ranking (``device_score_current``): kept by the scoring, read by one query.

Recomputing every device's score on every plan request cost minutes at the country's 100,000 devices
(64% of the plan's time, issue 15). Scores change only when their inputs do (a report changing a scored
section, an asset edit, a new day, another scoring configuration), so ``scoring.recompute_scores`` writes
the narrow row below each time it scores a device, and a ranking is one walk of
``ix_device_score_current_rank``: eligible devices by risk reduced per đồng (score / unit cost)
descending, then score descending, cost and id ascending, exactly the order of ``plan._key``.

A unit cost is a planner's setting, not a score input: rows carry the cost they were ranked with and
``sync_costs`` re-ranks the rows of a class whose cost changed (one indexed probe per class when nothing
did). Rows of an earlier day or of another configuration are refreshed by ``stale_device_ids`` +
``scoring.refresh_device_scores`` (the plan does it before reading; a daily job makes it rare).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, func, or_, update
from sqlmodel import Session, col, select

from collector.models.assets import DeviceClass, DeviceScore, LifecycleStatus, UnitCost
from collector.models.core import Device
from collector.models.ranking import DeviceScoreCurrent
from collector.services import paging
from collector.services.scoring_config import ScoringConfig

Scope = Collection[int] | None
# What a plan may buy: the lifecycle statuses that are not spare or retired.
BUYABLE = (LifecycleStatus.IN_SERVICE.value, LifecycleStatus.TO_REPLACE.value)

RANK_SORTING = paging.Sorting(
    keys=(
        paging.SortKey(
            "rank",
            (
                col(DeviceScoreCurrent.eligible),
                col(DeviceScoreCurrent.neg_ratio),
                col(DeviceScoreCurrent.neg_score),
                col(DeviceScoreCurrent.cost),
            ),
        ),
    ),
    tiebreak=col(DeviceScoreCurrent.device_id),
    default="rank",
)


def unit_costs(session: Session, config: ScoringConfig) -> dict[str, int]:
    """Unit costs per device class: the planners' values over the config file's defaults."""
    costs = dict(config.unit_costs)
    for row in session.exec(select(UnitCost)).all():
        costs[row.device_class] = row.cost
    return costs


def rank_values(score: int, cost: int | None, status: str, virtual: bool) -> dict[str, Any]:
    """The ranking columns of a device: the one place that says what is eligible and in what order.

    ``-(score / cost)`` as a double orders exactly like the plan's ``Fraction(score, cost)``: with
    scores <= 100 and costs <= 2e9, two different ratios differ by far more than a double's rounding.
    """
    priced = cost is not None and cost > 0
    return {
        "cost": cost,
        "eligible": bool(priced and not virtual and status in BUYABLE),
        "neg_ratio": -(score / cost) if priced and cost else 0.0,
        "neg_score": -score,
    }


def write_current(
    session: Session,
    *,
    device: Device,
    score: DeviceScore,
    status: str,
    costs: dict[str, int],
    config_digest: str,
    row: DeviceScoreCurrent | None,
) -> DeviceScoreCurrent:
    """Insert or update the ranking row of ``device`` from its stored score."""
    storage = next((f for f in score.factors if f.get("name") == "storage"), {})
    values: dict[str, Any] = {
        "site_id": device.site_id,
        "score": score.score,
        "category": score.category,
        "device_class": score.device_class,
        "virtual": score.virtual,
        "status": status,
        "storage_failed": bool(storage.get("critical")),
        "config_digest": config_digest,
        "computed_on": score.computed_on,
        **rank_values(score.score, costs.get(score.device_class), status, score.virtual),
    }
    if row is None:
        row = DeviceScoreCurrent(device_id=device.id or 0, **values)
    else:
        for k, v in values.items():
            setattr(row, k, v)
    session.add(row)
    return row


def every_device_ranked(session: Session) -> bool:
    """Whether every device has its ranking row: as many rows as devices (a row's id is its device's,
    and a device has one row at most). Two counts of 100,000 index entries, 8-26 ms by load."""
    devices = select(func.count()).select_from(Device).scalar_subquery()
    rows = select(func.count()).select_from(DeviceScoreCurrent).scalar_subquery()
    n_devices, n_rows = session.exec(select(devices, rows)).one()
    return bool(n_devices == n_rows)


def stale_device_ids(
    session: Session, *, scope: Scope, today: date, config_digest: str, every_ranked: bool = False
) -> list[int]:
    """Devices in ``scope`` whose ranking row is missing, from an earlier day or another configuration.

    Written as index range probes on ``ix_device_score_current_fresh`` (the rows not of ``today`` and
    ``config_digest``), and the missing rows looked for only when the device and ranking row counts
    differ: a join of every device with its row cost 120-150 ms a plan at 100,000 devices.
    ``every_ranked``: the caller knows that every device has its row (``every_device_ranked`` kept
    for the ranking's version): no counts."""
    t = DeviceScoreCurrent
    on, digest = col(t.computed_on), col(t.config_digest)
    q = select(t.device_id).where(
        or_(
            on < today,
            on > today,
            and_(on == today, digest < config_digest),
            and_(on == today, digest > config_digest),
        )
    )
    if scope is not None:
        q = q.where(col(t.site_id).in_(list(scope)))
    out = [i for i in session.exec(q).all() if i is not None]
    if every_ranked:
        return sorted(set(out))
    devices = select(func.count()).select_from(Device)
    rows = select(func.count()).select_from(t)
    if scope is not None:
        devices = devices.where(col(Device.site_id).in_(list(scope)))
        rows = rows.where(col(t.site_id).in_(list(scope)))
    n_devices, n_rows = session.exec(select(devices.scalar_subquery(), rows.scalar_subquery())).one()
    if n_devices != n_rows:
        missing = select(Device.id).where(
            ~select(t.device_id).where(col(t.device_id) == col(Device.id)).exists()
        )
        if scope is not None:
            missing = missing.where(col(Device.site_id).in_(list(scope)))
        out += [i for i in session.exec(missing).all() if i is not None]
    return sorted(set(out))


def sync_costs(session: Session, costs: dict[str, int]) -> int:
    """Re-rank the rows whose class's unit cost is not the one they were ranked with; rows changed.

    Each class's lowest and highest stored cost and whether one is missing are index probes on
    (device_class, cost), all in one statement: "cost IS NULL OR cost < c OR cost > c" was read by a
    scan of every row (25-30 ms per class at 100,000 devices), and one round trip per class cost more
    than the probes on a busy machine."""
    changed = 0
    t = DeviceScoreCurrent
    classes = sorted({c.value for c in DeviceClass} | set(costs))
    probes: list[Any] = []
    for device_class in classes:
        of_class = col(t.device_class) == device_class
        probes += [
            select(func.min(t.cost)).where(of_class).scalar_subquery(),
            select(func.max(t.cost)).where(of_class).scalar_subquery(),
            select(t.device_id).where(of_class, col(t.cost).is_(None)).exists(),
        ]
    found = list(session.exec(select(*probes)).one())
    for i, device_class in enumerate(classes):
        low, high, has_missing = found[3 * i : 3 * i + 3]
        cost = costs.get(device_class)
        if cost is None:
            if low is None:
                continue
        elif not has_missing and (low is None or (low >= cost and high <= cost)):
            continue
        of_class = col(t.device_class) == device_class
        if cost is None:
            differs: Any = col(t.cost).is_not(None)
        else:
            differs = or_(col(t.cost).is_(None), col(t.cost) < cost, col(t.cost) > cost)
        priced = cost is not None and cost > 0
        buyable = and_(col(t.virtual).is_(False), col(t.status).in_(BUYABLE))
        values: dict[str, Any] = {
            "cost": cost,
            "neg_ratio": (-(col(t.score) * 1.0) / cost) if priced else 0.0,
            "eligible": buyable if priced else False,
        }
        result: Any = session.execute(update(t).where(of_class, differs).values(**values))
        changed += int(result.rowcount or 0)
    return changed


@dataclass(frozen=True)
class Ranked:
    device_id: int
    site_id: int
    score: int
    category: str
    device_class: str
    cost: int


def rank(
    session: Session,
    *,
    scope: Scope,
    min_score: int = 0,
    limit: int = 50,
    cursor: str | None = None,
) -> paging.Page:
    """One keyset page of the replacement ranking: the devices a plan may buy, best risk per đồng
    first. One query on ``ix_device_score_current_rank``; its cost does not grow with the fleet."""
    t = DeviceScoreCurrent
    q = select(t).where(col(t.eligible).is_(True), col(t.score) >= min_score)
    if scope is not None:
        q = q.where(col(t.site_id).in_(list(scope)))
    page = paging.paginate(session, q, RANK_SORTING, cursor=cursor, limit=limit)
    page.rows = [
        Ranked(r.device_id, r.site_id, r.score, r.category, r.device_class, r.cost or 0) for r in page.rows
    ]
    return page


def current_rows(session: Session, device_ids: Iterable[int]) -> dict[int, DeviceScoreCurrent]:
    ids = list(device_ids)
    return {
        r.device_id: r
        for r in session.exec(select(DeviceScoreCurrent).where(col(DeviceScoreCurrent.device_id).in_(ids)))
    }
