"""The budget plan: which devices to replace this year, in which order, and why.

The plan ranks candidates once, independently of the budget, and then takes the longest prefix of
that ranking the budget pays for. That makes it:

- never over budget (a device is taken only if the running total stays within it);
- deterministic (the order breaks every tie on the device id);
- monotone: a larger budget takes a longer prefix, so it never drops a device a smaller one took.
  (Skipping an unaffordable device to buy a cheaper one further down would spend more of the
  budget, but then a little more money could swap a device out; planners asked for plans that
  only grow.) The leftover and the first device it could not pay for are shown and explained.

The ranking has three phases: devices matched by a must-replace rule first, then each commune's
minimum (round-robin over communes, so that a short budget spreads rather than fills one commune),
then everything else. Within a phase, the order is risk reduced per đồng (score / unit cost), then
the higher score, the cheaper device, the lower id.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlmodel import Session, col, select

from collector.i18n import N_, format_money, format_number, translator
from collector.localtime import today as local_today
from collector.models.assets import (
    MAX_COST_VND,
    Asset,
    DeviceClass,
    DeviceScore,
    LifecycleStatus,
    ScoreCategory,
    UnitCost,
)
from collector.models.core import Device, DeviceSection, Site
from collector.models.ranking import DeviceScoreCurrent
from collector.services import ranking
from collector.services.errors import ServiceError
from collector.services.scoring import (
    ScoringConfig,
    factor_label,
    load_config,
    recompute_scores,
    render_evidence,
)

Scope = frozenset[int] | set[int] | None

MUST_RULES: dict[str, str] = {
    "lifecycle_to_replace": N_("marked 'to replace' in the asset register"),
    "storage_failed": N_("a disk is failing"),
    "replace_now": N_("in the 'replace now' category"),
}

MESSAGES: dict[str, str] = {
    "pick_must": N_("must replace: {rules}"),
    "pick_minimum": N_("minimum for {site}: {n} device(s) per commune"),
    "pick_priority": N_("ranked by risk reduced per cost: score {score} for {cost}"),
    "skip_budget": N_("not funded: the budget ran out at rank {rank} (needs {cost}, {remaining} left)"),
    "skip_budget_first": N_("the first device the budget could not pay for: needs {cost}, {remaining} left"),
    "skip_no_cost": N_("no unit cost set for the class '{device_class}'"),
    "skip_status": N_("lifecycle status is '{status}'"),
    "skip_virtual": N_("a virtual machine: nothing to buy"),
    "minimum_short": N_("{site}: minimum {n} not reached ({got} funded, {eligible} candidates)"),
    "leftover": N_("{remaining} left: the next device in the ranking ({hostname}) costs {cost}"),
    # Why a plan holds no device at all: the real reason, not always the budget.
    "empty_no_devices": N_("no device has reported yet: there is nothing to plan"),
    "empty_only_virtual": N_("the only devices are virtual machines ({n}): there is nothing to buy"),
    "empty_none_needed": N_(
        "no device needs replacing: all {n} score below {min_score} and no must-replace rule applies"
    ),
    "empty_not_in_service": N_(
        "the devices that need replacing are spare or retired ({n}): none is in service"
    ),
    "empty_no_cost": N_(
        "{n} device(s) need replacing but their class has no unit cost: set it under Unit costs"
    ),
    "empty_budget": N_(
        "the budget pays for no device: the first in the ranking ({hostname}) costs {cost}, "
        "the budget is {budget}"
    ),
}

STATUS_LABELS: dict[str, str] = {
    LifecycleStatus.IN_SERVICE: N_("in service"),
    LifecycleStatus.SPARE: N_("spare"),
    LifecycleStatus.TO_REPLACE: N_("to replace"),
    LifecycleStatus.RETIRED: N_("retired"),
}

CLASS_LABELS: dict[str, str] = {
    DeviceClass.DESKTOP: N_("desktop PC"),
    DeviceClass.LAPTOP: N_("laptop"),
    DeviceClass.SERVER: N_("server"),
    DeviceClass.NETWORK_DEVICE: N_("network device"),
    DeviceClass.OTHER: N_("other"),
}


def must_label(rule: str, lang: str = "vi") -> str:
    return translator(lang)(MUST_RULES[rule]) if rule in MUST_RULES else rule


def status_label(status: str, lang: str = "vi") -> str:
    return translator(lang)(STATUS_LABELS[status]) if status in STATUS_LABELS else status


def class_label(device_class: str, lang: str = "vi") -> str:
    return translator(lang)(CLASS_LABELS[device_class]) if device_class in CLASS_LABELS else device_class


def render_reason(item: dict[str, Any], lang: str = "vi") -> str:
    pair = MESSAGES.get(item.get("code", ""))
    if pair is None:
        return str(item.get("code", ""))
    params = dict(item.get("params") or {})
    for key in ("cost", "remaining", "budget"):
        if isinstance(params.get(key), int):
            params[key] = format_money(params[key])
    if "rules" in params:
        params["rules"] = "; ".join(must_label(r, lang) for r in params["rules"])
    if "status" in params:
        params["status"] = status_label(params["status"], lang)
    if "device_class" in params:
        params["device_class"] = class_label(params["device_class"], lang)
    return translator(lang)(pair).format(**params)


@dataclass(frozen=True)
class PlanRules:
    budget: int
    min_per_site: int = 0
    # Per commune code: a minimum that overrides ``min_per_site`` for that commune.
    site_minimums: dict[str, int] = field(default_factory=dict)
    must_replace: tuple[str, ...] = ()
    min_score: int = 15

    def minimum_for(self, site_code: str) -> int:
        return self.site_minimums.get(site_code, self.min_per_site)

    def validate(self) -> None:
        if self.budget < 0:
            raise ServiceError("the budget must be zero or more (VND)")
        if self.min_per_site < 0 or any(v < 0 for v in self.site_minimums.values()):
            raise ServiceError("a minimum per commune must be zero or more")
        unknown = sorted(set(self.must_replace) - set(MUST_RULES))
        if unknown:
            raise ServiceError(
                "unknown must-replace rule(s): %(unknown)s; known: %(known)s",
                unknown=", ".join(unknown),
                known=", ".join(MUST_RULES),
            )


@dataclass(frozen=True)
class Candidate:
    device_id: int
    hostname: str
    site_code: str
    site_name: str
    device_class: str
    score: int
    category: str
    cost: int | None  # None: no unit cost for the class
    factors: tuple[dict[str, Any], ...] = ()
    status: str = LifecycleStatus.IN_SERVICE
    virtual: bool = False
    storage_failed: bool = False
    asset_tag: str | None = None
    model: str | None = None
    serial: str | None = None
    purchase_date: date | None = None

    def must_rules(self, rules: tuple[str, ...]) -> tuple[str, ...]:
        hits = []
        if "lifecycle_to_replace" in rules and self.status == LifecycleStatus.TO_REPLACE:
            hits.append("lifecycle_to_replace")
        if "storage_failed" in rules and self.storage_failed:
            hits.append("storage_failed")
        if "replace_now" in rules and self.category == ScoreCategory.REPLACE_NOW:
            hits.append("replace_now")
        return tuple(hits)

    def reasons(self, lang: str = "vi", limit: int = 4) -> list[str]:
        """The evidence of the factors that weigh most, in ``lang``."""
        out: list[str] = []
        for f in sorted(self.factors, key=lambda f: (-f.get("points", 0), f.get("name", ""))):
            if f.get("points", 0) <= 0:
                continue
            lines = [render_evidence(e, lang) for e in f.get("evidence", []) if e.get("code") != "disk_ok"]
            if lines:
                points = format_number(f["points"], lang)
                out.append(f"{factor_label(f['name'], lang)} ({points}): " + "; ".join(lines[:3]))
            if len(out) >= limit:
                break
        return out


@dataclass
class PlanItem:
    candidate: Candidate
    rank: int
    phase: str  # must, minimum, priority
    reason: dict[str, Any]
    cumulative: int = 0


@dataclass
class NonPick:
    candidate: Candidate
    reason: dict[str, Any]
    notable: bool
    rank: int | None = None


@dataclass
class Plan:
    rules: PlanRules
    picks: list[PlanItem]
    non_picks: list[NonPick]
    notes: list[dict[str, Any]]
    generated_at: datetime
    unit_costs: dict[str, int]

    @property
    def spent(self) -> int:
        return sum(p.candidate.cost or 0 for p in self.picks)

    @property
    def remaining(self) -> int:
        return self.rules.budget - self.spent

    @property
    def notable_non_picks(self) -> list[NonPick]:
        return [n for n in self.non_picks if n.notable]

    def by_site(self) -> list[dict[str, Any]]:
        rows: dict[str, dict[str, Any]] = {}
        for p in self.picks:
            c = p.candidate
            row = rows.setdefault(
                c.site_code, {"site": c.site_code, "name": c.site_name, "count": 0, "cost": 0}
            )
            row["count"] += 1
            row["cost"] += c.cost or 0
        return [rows[k] for k in sorted(rows)]


def _key(c: Candidate) -> tuple[float, int, int, int]:
    # score / cost as a double orders exactly like the fraction (and like the stored ranking,
    # collector.services.ranking.rank_values): scores are 0-100 and costs at most MAX_COST_VND, so two
    # different ratios differ by at least 1/(100 * 2e9) of their value, far above a double's rounding,
    # and equal ratios round to the same double. A Fraction per candidate cost most of the plan's time.
    cost = c.cost or 1
    return (-(c.score / cost), -c.score, cost, c.device_id)


def _notable(c: Candidate, rules: PlanRules) -> bool:
    return bool(c.must_rules(rules.must_replace)) or c.category in (
        ScoreCategory.REPLACE_NOW,
        ScoreCategory.PLAN_12_MONTHS,
    )


def build_plan(
    candidates: list[Candidate],
    rules: PlanRules,
    *,
    unit_costs: dict[str, int] | None = None,
    generated_at: datetime | None = None,
) -> Plan:
    """The plan for ``candidates`` under ``rules``: a pure function of its inputs."""
    rules.validate()
    non_picks: list[NonPick] = []
    eligible: list[Candidate] = []
    for c in sorted(candidates, key=lambda c: c.device_id):
        must = c.must_rules(rules.must_replace)
        if c.status in (LifecycleStatus.RETIRED, LifecycleStatus.SPARE):
            non_picks.append(
                NonPick(c, {"code": "skip_status", "params": {"status": c.status}}, _notable(c, rules))
            )
        elif c.virtual:
            non_picks.append(NonPick(c, {"code": "skip_virtual", "params": {}}, _notable(c, rules)))
        elif not must and c.score < rules.min_score:
            continue  # healthy enough: not a candidate, nothing to explain
        elif c.cost is None or c.cost <= 0:
            params: dict[str, Any] = {"device_class": c.device_class}
            non_picks.append(NonPick(c, {"code": "skip_no_cost", "params": params}, True))
        else:
            eligible.append(c)

    # Phase 1: must-replace rules.
    must_list = sorted((c for c in eligible if c.must_rules(rules.must_replace)), key=_key)
    taken = {c.device_id for c in must_list}
    order: list[tuple[Candidate, str, dict[str, Any]]] = [
        (c, "must", {"code": "pick_must", "params": {"rules": list(c.must_rules(rules.must_replace))}})
        for c in must_list
    ]
    # Phase 2: each commune's minimum, round-robin (must-replace picks count toward it).
    per_site: dict[str, list[Candidate]] = defaultdict(list)
    for c in sorted(eligible, key=_key):
        per_site[c.site_code].append(c)
    have: defaultdict[str, int] = defaultdict(int)
    for c in must_list:
        have[c.site_code] += 1
    queues = {
        site: [c for c in cands if c.device_id not in taken][: max(0, rules.minimum_for(site) - have[site])]
        for site, cands in per_site.items()
    }
    round_no = 0
    while any(len(q) > round_no for q in queues.values()):
        batch = [q[round_no] for q in queues.values() if len(q) > round_no]
        for c in sorted(batch, key=_key):
            n = rules.minimum_for(c.site_code)
            order.append((c, "minimum", {"code": "pick_minimum", "params": {"site": c.site_name, "n": n}}))
            taken.add(c.device_id)
        round_no += 1
    # Phase 3: everything else, by risk reduced per cost.
    for c in sorted(eligible, key=_key):
        if c.device_id not in taken:
            params = {"score": c.score, "cost": c.cost}
            order.append((c, "priority", {"code": "pick_priority", "params": params}))

    picks: list[PlanItem] = []
    total = 0
    stop_at: int | None = None
    for rank, (c, phase, reason) in enumerate(order, start=1):
        cost = c.cost or 0
        if stop_at is None and total + cost <= rules.budget:
            total += cost
            picks.append(PlanItem(c, rank, phase, reason, total))
            continue
        if stop_at is None:
            stop_at = rank
            params = {"cost": cost, "remaining": rules.budget - total}
            non_picks.append(NonPick(c, {"code": "skip_budget_first", "params": params}, True, rank))
        else:
            params = {"rank": stop_at, "cost": cost, "remaining": rules.budget - total}
            notable = _notable(c, rules) or phase != "priority"
            non_picks.append(NonPick(c, {"code": "skip_budget", "params": params}, notable, rank))

    notes: list[dict[str, Any]] = []
    if stop_at is not None:
        first = order[stop_at - 1][0]
        notes.append(
            {
                "code": "leftover",
                "params": {"remaining": rules.budget - total, "hostname": first.hostname, "cost": first.cost},
            }
        )
    got: defaultdict[str, int] = defaultdict(int)
    for p in picks:
        got[p.candidate.site_code] += 1
    names = {c.site_code: c.site_name for c in candidates}
    for site in sorted(per_site):
        n = rules.minimum_for(site)
        want = min(n, len(per_site[site]))
        if n and got[site] < want:
            params = {"site": names[site], "n": n, "got": got[site], "eligible": len(per_site[site])}
            notes.append({"code": "minimum_short", "params": params})
    non_picks.sort(key=lambda n: (n.rank is None, n.rank or 0, n.candidate.device_id))
    if not picks:
        notes.insert(0, _empty_reason(candidates, non_picks, order, rules))
    return Plan(
        rules=rules,
        picks=picks,
        non_picks=non_picks,
        notes=notes,
        generated_at=generated_at or datetime.now(UTC),
        unit_costs=dict(unit_costs or {}),
    )


def _empty_reason(
    candidates: list[Candidate],
    non_picks: list[NonPick],
    order: list[tuple[Candidate, str, dict[str, Any]]],
    rules: PlanRules,
) -> dict[str, Any]:
    """Why the plan picks nothing, most telling reason first: the budget only when it is the budget."""
    codes = [n.reason["code"] for n in non_picks]
    if order:
        first = order[0][0]
        return {
            "code": "empty_budget",
            "params": {"hostname": first.hostname, "cost": first.cost, "budget": rules.budget},
        }
    if not candidates:
        return {"code": "empty_no_devices", "params": {}}
    if all(c.virtual for c in candidates):
        return {"code": "empty_only_virtual", "params": {"n": len(candidates)}}
    if "skip_no_cost" in codes:
        return {"code": "empty_no_cost", "params": {"n": codes.count("skip_no_cost")}}
    if any(code == "skip_status" for code in codes) and not any(
        c.must_rules(rules.must_replace) or c.score >= rules.min_score
        for c in candidates
        if not c.virtual and c.status not in (LifecycleStatus.RETIRED, LifecycleStatus.SPARE)
    ):
        notable = [n for n in non_picks if n.reason["code"] == "skip_status" and n.notable]
        if notable:
            return {"code": "empty_not_in_service", "params": {"n": len(notable)}}
    real = [c for c in candidates if not c.virtual]
    return {"code": "empty_none_needed", "params": {"n": len(real), "min_score": rules.min_score}}


# ---- from the database -------------------------------------------------------------------------


def effective_unit_costs(session: Session, config: ScoringConfig) -> dict[str, int]:
    """Unit costs per device class: the planners' values over the config file's defaults."""
    return ranking.unit_costs(session, config)


def set_unit_costs(session: Session, costs: dict[str, int], *, actor: str) -> dict[str, int]:
    from collector.models.types import utcnow
    from collector.services.audit import record

    known = {c.value for c in DeviceClass}
    for name, cost in costs.items():
        if name not in known:
            raise ServiceError(
                "unknown device class %(name)s; classes: %(classes)s",
                name=repr(name),
                classes=", ".join(sorted(known)),
            )
        if not isinstance(cost, int) or cost < 0:
            raise ServiceError(
                "the unit cost of %(device_class)s must be a whole number of VND, zero or more",
                device_class=name,
            )
        if cost > MAX_COST_VND:
            raise ServiceError(
                "the unit cost of %(device_class)s is more than %(max)s VND",
                device_class=name,
                max=f"{MAX_COST_VND:,}".replace(",", "."),
            )
    for name, cost in sorted(costs.items()):
        row = session.get(UnitCost, name)
        if row is None:
            row = UnitCost(device_class=name, cost=cost, updated_by=actor)
        else:
            row.cost, row.updated_by, row.updated_at = cost, actor, utcnow()
        session.add(row)
    record(session, actor=actor, action="unit_costs.update", detail={k: v for k, v in sorted(costs.items())})
    session.flush()
    effective = effective_unit_costs(session, load_config())
    ranking.sync_costs(session, effective)  # the stored ranking follows the new prices at once
    return effective


def scoped_device_ids(session: Session, scope: Scope) -> list[int]:
    q = select(Device.id)
    if scope is not None:
        q = q.where(col(Device.site_id).in_(scope))
    return [i for i in session.exec(q).all() if i is not None]


def load_candidates(
    session: Session,
    *,
    scope: Scope,
    config: ScoringConfig | None = None,
    today: date | None = None,
    refresh: bool = True,
    rules: PlanRules | None = None,
) -> tuple[list[Candidate], dict[str, int]]:
    """Every scored device in ``scope`` as a plan candidate, with the unit costs used.

    Reads the stored ranking rows (``device_score_current``); only devices whose row is missing or
    out of date (another day, another configuration) are scored first. With ``rules``, the details a
    plan shows (factors, asset record, model) are read only for the devices the plan can mention:
    the others are skipped by ``build_plan`` and only counted."""
    config = config or load_config()
    today = today or local_today()
    costs = effective_unit_costs(session, config)
    if refresh:
        stale = ranking.stale_device_ids(session, scope=scope, today=today, config_digest=config.digest())
        if stale:
            recompute_scores(session, device_ids=stale, config=config, today=today)
    ranking.sync_costs(session, costs)
    cur = DeviceScoreCurrent
    q = (
        select(cur, Device.hostname, Device.serial, Device.platform, Site.code, Site.name)
        .join(Device, col(Device.id) == col(cur.device_id))
        .join(Site, col(Site.id) == col(cur.site_id))
    )
    if scope is not None:
        q = q.where(col(cur.site_id).in_(list(scope)))
    rows = list(session.exec(q).all())

    def shown(row: DeviceScoreCurrent) -> bool:
        if rules is None or row.virtual or row.status not in ranking.BUYABLE:
            return True
        return row.score >= rules.min_score or bool(_must_hits(row, rules.must_replace))

    wanted = [r[0].device_id for r in rows if shown(r[0])]
    factors: dict[int, list[dict[str, Any]]] = {}
    assets: dict[int, Asset] = {}
    system: dict[int, dict[str, Any]] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        score_rows = select(DeviceScore.device_id, col(DeviceScore.factors)).where(
            col(DeviceScore.device_id).in_(chunk)
        )
        for device_id, data in session.exec(score_rows).all():
            factors[device_id] = data or []
        for a in session.exec(select(Asset).where(col(Asset.device_id).in_(chunk))).all():
            assets[a.device_id] = a
        for device_id, data in session.exec(
            select(DeviceSection.device_id, DeviceSection.data).where(
                col(DeviceSection.device_id).in_(chunk), DeviceSection.section == "system"
            )
        ).all():
            system[device_id] = data or {}
    out: list[Candidate] = []
    for row, hostname, serial, platform, site_code, site_name in rows:
        did = row.device_id
        asset = assets.get(did)
        sysdata = system.get(did, {})
        out.append(
            Candidate(
                device_id=did,
                hostname=hostname,
                site_code=site_code,
                site_name=site_name,
                device_class=row.device_class,
                score=row.score,
                category=row.category,
                cost=costs.get(row.device_class),
                factors=tuple(factors.get(did, ())),
                status=row.status,
                virtual=row.virtual,
                storage_failed=row.storage_failed,
                asset_tag=asset.asset_tag if asset else None,
                model=" ".join(x for x in (sysdata.get("vendor"), sysdata.get("model")) if x) or platform,
                serial=serial,
                purchase_date=asset.purchase_date if asset else None,
            )
        )
    return out, costs


def _must_hits(row: DeviceScoreCurrent, rules: tuple[str, ...]) -> tuple[str, ...]:
    """``Candidate.must_rules`` on a ranking row (the same three tests)."""
    hits = []
    if "lifecycle_to_replace" in rules and row.status == LifecycleStatus.TO_REPLACE:
        hits.append("lifecycle_to_replace")
    if "storage_failed" in rules and row.storage_failed:
        hits.append("storage_failed")
    if "replace_now" in rules and row.category == ScoreCategory.REPLACE_NOW:
        hits.append("replace_now")
    return tuple(hits)


def make_rules(
    *,
    budget: int,
    min_per_site: int = 0,
    site_minimums: dict[str, int] | None = None,
    must_replace: list[str] | tuple[str, ...] | None = None,
    config: ScoringConfig,
) -> PlanRules:
    """The plan's rules from a request and the scoring configuration, checked (ServiceError if not)."""
    rules = PlanRules(
        budget=budget,
        min_per_site=min_per_site,
        site_minimums=dict(site_minimums or {}),
        must_replace=tuple(config.plan.must_replace if must_replace is None else must_replace),
        min_score=config.plan.min_score,
    )
    rules.validate()
    return rules


def make_plan(
    session: Session,
    *,
    budget: int,
    scope: Scope,
    min_per_site: int = 0,
    site_minimums: dict[str, int] | None = None,
    must_replace: list[str] | tuple[str, ...] | None = None,
    config: ScoringConfig | None = None,
    today: date | None = None,
) -> Plan:
    """The plan for the devices a user may see. Scores are refreshed first (only changed rows are
    written), so the caller commits the session."""
    config = config or load_config()
    rules = make_rules(
        budget=budget,
        min_per_site=min_per_site,
        site_minimums=site_minimums,
        must_replace=must_replace,
        config=config,
    )
    candidates, costs = load_candidates(session, scope=scope, config=config, today=today, rules=rules)
    return build_plan(candidates, rules, unit_costs=costs)
