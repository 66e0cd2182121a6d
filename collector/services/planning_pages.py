"""The replacement plan a page at a time, computed in the database over the stored ranking.

``collector.services.planning.build_plan`` is the plan's definition (a pure function over every candidate,
kept as the reference the tests compare with); this module gives the same plan without materialising
every candidate in Python, which took seconds at 100,000 devices:

- the candidates are the eligible rows of ``device_score_current`` (priced, in service or to replace,
  not virtual) that a must-replace rule matches or whose score reaches ``min_score``;
- each candidate's place in the plan's order is the key (phase, round, -score/cost, -score, cost, id):
  phase 0 the must-replace rules, phase 1 each commune's minimum (``round`` is the candidate's place in
  its commune: round-robin over communes), phase 2 everything else; the commune minimums are a window
  function (``row_number`` per commune) over the stored ranking columns;
- the budget takes the longest prefix of that order it pays for: a running ``sum(cost)`` over the
  order, so the totals (count, cost, per commune) are aggregates of one query and stay exact;
- a page is a keyset range of that order (the cursor holds the key of the last row shown), followed
  by the devices the plan explains but does not rank (spare or retired, virtual, no unit cost), by id.

Only the page's devices are read in detail (hostname, factors, asset record, model).
"""

from __future__ import annotations

import base64
import binascii
import bisect
import hashlib
import itertools
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    Integer,
    and_,
    any_,
    case,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col
from sqlmodel import select as entities

from collector.localtime import today as local_today
from collector.models.assets import Asset, DeviceScore, LifecycleStatus, ScoreCategory
from collector.models.core import Device, DeviceSection, Site
from collector.models.ranking import DeviceScoreCurrent, RankingChange, RankingCommit, RankingVersion
from collector.services import ranking
from collector.services.errors import ServiceError
from collector.services.planning import Candidate, NonPick, PlanItem, PlanRules, Scope, _notable, make_rules
from collector.services.scoring import ScoringConfig, load_config, recompute_scores

PHASES = ("must", "minimum", "priority")
UNRANKED = 3  # the phase of the rows after the ranking: explained, not ranked
# An unfunded device of the priority phase is notable in these categories (``plan._notable``).
NOTABLE_CATEGORIES = (ScoreCategory.REPLACE_NOW.value, ScoreCategory.PLAN_12_MONTHS.value)
MAX_LIMIT = 1000


@dataclass
class PlanPage:
    """One page of the plan, with the whole plan's totals."""

    rules: PlanRules
    picks: list[PlanItem]
    non_picks: list[NonPick]
    # The whole plan's notes that concern the page: the plan-wide ones (why empty, the leftover) and the
    # "minimum not reached" of the communes of the page's devices (every note in an export's pages);
    # ``notes_count`` counts the whole plan's, ``plan_notes`` pages through them all.
    notes: list[dict[str, Any]]
    generated_at: datetime
    unit_costs: dict[str, int]
    notes_count: int = 0
    spent: int = 0
    picked: int = 0  # devices the budget pays for, in the whole plan
    sites: list[dict[str, Any]] = field(default_factory=list)
    next_cursor: str | None = None
    limit: int = 0

    @property
    def remaining(self) -> int:
        return self.rules.budget - self.spent

    @property
    def notable_non_picks(self) -> list[NonPick]:
        return [n for n in self.non_picks if n.notable]

    def by_site(self) -> list[dict[str, Any]]:
        return self.sites


def _run(session: Session, statement: Any) -> Any:
    return OrmSession.execute(session, statement)


# The tables as Core tables: statements of plain columns skip the ORM's per-row work (3,321 site rows
# read through the ORM cost ~40 ms).
_T = DeviceScoreCurrent.__table__  # type: ignore[attr-defined]
_S = Site.__table__  # type: ignore[attr-defined]
_V = RankingVersion.__table__  # type: ignore[attr-defined]


def _must(rules: PlanRules) -> Any:
    """``Candidate.must_rules`` as SQL over a ranking row: true when a chosen rule matches."""
    parts = []
    if "lifecycle_to_replace" in rules.must_replace:
        parts.append(_T.c.status == LifecycleStatus.TO_REPLACE.value)
    if "storage_failed" in rules.must_replace:
        parts.append(_T.c.storage_failed.is_(True))
    if "replace_now" in rules.must_replace:
        parts.append(_T.c.category == ScoreCategory.REPLACE_NOW.value)
    return or_(*parts) if parts else false()


def _scoped(q: Any, scope: Scope) -> Any:
    return q if scope is None else q.where(_T.c.site_id.in_(list(scope)))


def _ranked_condition(rules: PlanRules) -> Any:
    return and_(_T.c.eligible.is_(True), or_(_must(rules), _T.c.score >= rules.min_score))


def _has_minimums(rules: PlanRules) -> bool:
    return rules.min_per_site > 0 or any(n > 0 for n in rules.site_minimums.values())


RANK_KEYS = (_T.c.neg_ratio, _T.c.neg_score, _T.c.cost, _T.c.device_id)
ROW_COLUMNS = (_T.c.device_id, _T.c.site_id, _T.c.cost, _T.c.neg_ratio, _T.c.neg_score, _T.c.category)


class Row(NamedTuple):
    """A ranked row of the plan's order (``round``: the place in its commune, minimum phase only)."""

    device_id: int
    site_id: int
    cost: int
    neg_ratio: float
    neg_score: int
    category: str
    round: int = 0


def _row(r: Any, round: int = 0) -> Row:
    """A ``Row`` from a result row of ``ROW_COLUMNS`` (driver types made plain)."""
    return Row(int(r[0]), int(r[1]), int(r[2]), float(r[3]), int(r[4]), r[5], round)


def _after(exprs: tuple[Any, ...], values: list[Any]) -> Any:
    return tuple_(*exprs) > tuple_(*[literal(v, e.type) for v, e in zip(values, exprs, strict=True)])


def _site_minimum(rules: PlanRules) -> Any:
    """A commune's minimum as SQL over ``site`` (its own minimum, else ``min_per_site``)."""
    if not rules.site_minimums:
        return literal(rules.min_per_site)
    return case(
        *[(_S.c.code == code, n) for code, n in sorted(rules.site_minimums.items())],
        else_=rules.min_per_site,
    )


def _minimum_query(session: Session, rules: PlanRules, scope: Scope) -> Any:
    """Each commune's minimum (phase 1): its best candidates no must-replace rule took, as many as its
    minimum less its must-replace candidates; ``round`` is the place in the commune (round-robin).

    On PostgreSQL a LATERAL walk per commune of ``ix_device_score_current_site_rank`` (site_id,
    eligible, ranking) that stops after the commune's quota (~6,600 rows read for 2 per commune at
    3,321 communes); the must-replace candidates per commune are one grouped count. Elsewhere (SQLite,
    small fleets) a ``row_number()`` per commune over every candidate."""
    must = _must(rules)
    minimum = _site_minimum(rules)
    if session.get_bind().dialect.name != "postgresql":
        cand = _scoped(
            select(*ROW_COLUMNS, case((must, 1), else_=0).label("must")).where(_ranked_condition(rules)),
            scope,
        ).subquery("cand")
        order = [cand.c.neg_ratio, cand.c.neg_score, cand.c.cost, cand.c.device_id]
        numbered = (
            select(
                cand,
                func.row_number()
                .over(partition_by=[cand.c.site_id, cand.c.must], order_by=order)
                .label("rn"),
                func.sum(cand.c.must).over(partition_by=cand.c.site_id).label("site_must"),
                minimum.label("site_min"),
            )
            .join(_S, _S.c.id == cand.c.site_id)
            .subquery("numbered")
        )
        n = numbered.c
        return select(
            n.device_id, n.site_id, n.cost, n.neg_ratio, n.neg_score, n.category, n.rn.label("round")
        ).where(n.must == 0, n.rn <= n.site_min - n.site_must)
    musts = _scoped(
        select(_T.c.site_id, func.count().label("n")).where(_T.c.eligible.is_(True), must), scope
    ).group_by(_T.c.site_id)
    musts_q = musts.subquery("musts")
    quota = func.greatest(minimum - func.coalesce(musts_q.c.n, 0), 0)
    sites_q = select(_S.c.id.label("site_id"), quota.label("quota")).outerjoin(
        musts_q, musts_q.c.site_id == _S.c.id
    )
    if scope is not None:
        sites_q = sites_q.where(_S.c.id.in_(list(scope)))
    sites = sites_q.subquery("sites")
    walk = (
        select(*ROW_COLUMNS, func.row_number().over(order_by=RANK_KEYS).label("round"))
        .where(
            _T.c.site_id == sites.c.site_id,
            _T.c.eligible.is_(True),
            not_(must),
            _T.c.score >= rules.min_score,
        )
        .order_by(*RANK_KEYS)
        .limit(sites.c.quota)
        .lateral("walk")
    )
    return (
        select(walk.c.device_id, walk.c.site_id, walk.c.cost, walk.c.neg_ratio, walk.c.neg_score)
        .add_columns(walk.c.category, walk.c.round)
        .select_from(sites)
        .join(walk, true())
        .where(sites.c.quota > 0)
    )


class _Order:
    """The plan's order under ``rules``, walked a phase at a time from a key: must-replace rules
    (phase 0), the commune minimums (phase 1, if any), then the rest (phase 2). Phases 0 and 2 are
    keyset walks of ``ix_device_score_current_rank`` in growing batches that stop where the caller
    stops; phase 1 is read once (it is bounded by the sum of the minimums) and kept sorted, and phase 2
    skips its rows."""

    def __init__(
        self,
        session: Session,
        rules: PlanRules,
        scope: Scope,
        minimum: list[tuple[list[Any], Row]] | None = None,
        on_minimum: Callable[[list[tuple[list[Any], Row]]], None] | None = None,
        minimum_ids: Collection[int] | None = None,
    ) -> None:
        self.session, self.rules, self.scope = session, rules, scope
        self._minimum = minimum
        self._minimum_ids: set[int] = set()
        if minimum is not None:
            self._minimum_ids = (
                set(minimum_ids) if minimum_ids is not None else {r.device_id for _, r in minimum}
            )
        self._on_minimum = on_minimum  # told the minimum phase once it is read (the totals' cache keeps it)

    def phases(self) -> tuple[int, ...]:
        return (0, 1, 2) if _has_minimums(self.rules) else (0, 2)

    def minimum(self) -> list[tuple[list[Any], Row]]:
        if self._minimum is None:
            rows = [
                _row(r, int(r[6]))
                for r in _run(self.session, _minimum_query(self.session, self.rules, self.scope)).all()
            ]
            self._minimum = sorted(((_key(1, r), r) for r in rows), key=lambda kr: kr[0])
            self._minimum_ids = {r.device_id for r in rows}
            if self._on_minimum is not None:
                self._on_minimum(self._minimum)
        return self._minimum

    def walk(self, phase: int, after: list[Any] | None, batch: int) -> Iterator[tuple[list[Any], Row]]:
        """The rows of ``phase`` after the full key ``after`` (None: from its start), in order."""
        if phase == 1:
            rows = self.minimum()
            start = 0 if after is None else bisect.bisect_right([k for k, _ in rows], after)
            yield from rows[start:]
            return
        yield from self._walk_table(phase, after, batch, backwards=False)

    def walk_back(self, phase: int, before: list[Any] | None, batch: int) -> Iterator[tuple[list[Any], Row]]:
        """The rows of ``phase`` before the full key ``before`` (None: from its end), last first: the
        same walks as ``walk``, backwards (PostgreSQL reads the indexes backwards)."""
        if phase == 1:
            rows = self.minimum()
            end = len(rows) if before is None else bisect.bisect_left([k for k, _ in rows], before)
            yield from reversed(rows[:end])
            return
        yield from self._walk_table(phase, before, batch, backwards=True)

    def _walk_table(
        self, phase: int, bound: list[Any] | None, batch: int, *, backwards: bool
    ) -> Iterator[tuple[list[Any], Row]]:
        """Phases 0 and 2 read from the ranking table in batches growing fourfold, past ``bound``."""
        exclude: set[int] = set()
        if phase == 2 and _has_minimums(self.rules):
            self.minimum()
            exclude = self._minimum_ids
        must = _must(self.rules)
        order = [k.desc() for k in RANK_KEYS] if backwards else list(RANK_KEYS)
        past = _before if backwards else _after
        q = _scoped(
            select(*ROW_COLUMNS).where(_ranked_condition(self.rules), must if phase == 0 else not_(must)),
            self.scope,
        ).order_by(*order)
        last = bound[2:] if bound is not None else None
        while True:
            page = q if last is None else q.where(past(RANK_KEYS, last))
            got = _run(self.session, page.limit(batch)).all()
            for r in got:
                if int(r[0]) not in exclude:
                    row = _row(r)
                    yield _key(phase, row), row
            if len(got) < batch:
                return
            last = [float(got[-1][3]), int(got[-1][4]), int(got[-1][2]), int(got[-1][0])]
            batch = min(batch * 4, 16384)


def _before(exprs: tuple[Any, ...], values: list[Any]) -> Any:
    return tuple_(*exprs) < tuple_(*[literal(v, e.type) for v, e in zip(values, exprs, strict=True)])


def _key(phase: int, r: Row) -> list[Any]:
    # A Row holds plain ints and floats already (``_row``).
    return [phase, r.round, r.neg_ratio, r.neg_score, r.cost, r.device_id]


# ---- cursors ------------------------------------------------------------------------------------


def _rules_digest(rules: PlanRules) -> str:
    raw = json.dumps(
        [rules.min_per_site, sorted(rules.site_minimums.items()), sorted(rules.must_replace), rules.min_score]
    )
    return hashlib.sha256(raw.encode()).hexdigest()[:12]


def _encode(rules: PlanRules, key: list[Any]) -> str:
    raw = json.dumps(["plan", _rules_digest(rules), key], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(rules: PlanRules, cursor: str) -> list[Any]:
    bad = ServiceError("the page cursor is not valid (it may be from other rules); start from the first page")
    try:
        tag, digest, key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise bad from None
    if tag != "plan" or digest != _rules_digest(rules) or not isinstance(key, list) or len(key) != 8:
        raise bad
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in key):
        raise bad
    return key


# ---- the plan ------------------------------------------------------------------------------------


def refresh(
    session: Session, *, scope: Scope, config: ScoringConfig, today: date | None = None
) -> dict[str, int]:
    """Score the devices whose ranking row is missing or stale, re-rank changed prices; the unit costs.
    Only changed rows are written (none on most requests); the caller commits."""
    today = today or local_today()
    costs = ranking.unit_costs(session, config)
    stale = ranking.stale_device_ids(
        session, scope=scope, today=today, config_digest=config.digest(), every_ranked=_every_ranked(session)
    )
    if stale:
        recompute_scores(session, device_ids=stale, config=config, today=today)
    ranking.sync_costs(session, costs)
    return costs


# Per database (URL, oid): the last ranking version (n, xmin) at which every device had its ranking row.
# Every commit that can make a device lack its row raises the version: a ranking row deleted (the
# ranking's triggers), a device inserted (``tr_device_ranking_version``, migration i15d_read_0004).
# Kept only when the version read before and after the counts is the same (as the totals).
_EVERY_RANKED: OrderedDict[tuple[Any, ...], tuple[int, str]] = OrderedDict()
_EVERY_RANKED_LOCK = threading.Lock()


def _every_ranked(session: Session) -> bool:
    """Whether every device has its ranking row (True: the refresh need not look for missing rows).
    On PostgreSQL known from an earlier version's answer when the commits since added no device and
    left a row to every device they wrote (``ranking_change``), else counted (two counts of 100,000
    index entries, 8-26 ms a plan request) and kept; False elsewhere (the caller counts)."""
    version = ranking_version(session)
    if version is None:
        return False
    key = (session.get_bind().engine.url.render_as_string(hide_password=True), version[0])
    with _EVERY_RANKED_LOCK:
        known = _EVERY_RANKED.get(key)
    if known is not None and known == (version[1], version[2]):
        return True
    every = False
    if known is not None and known[0] < version[1]:
        log = _changes(session, known[0], known[1], version[1])
        if log is not None and all(r[2] is not None for r in log):  # (no id: a commit added devices)
            written = {int(r[2]) for r in log}
            have = select(func.count()).select_from(_T).where(_among(session, _T.c.device_id, written))
            every = not written or _run(session, have).scalar_one() == len(written)
    if not every:
        every = ranking.every_device_ranked(session)
    if every and ranking_version(session) == version:
        with _EVERY_RANKED_LOCK:
            _EVERY_RANKED[key] = (version[1], version[2])
            _EVERY_RANKED.move_to_end(key)
            while len(_EVERY_RANKED) > 8:
                _EVERY_RANKED.popitem(last=False)
    return every


def plan_page(
    session: Session,
    rules: PlanRules,
    *,
    scope: Scope,
    costs: dict[str, int],
    cursor: str | None = None,
    limit: int = 500,
    totals: dict[str, Any] | None = None,
    only_notable: bool = False,
    all_notes: bool = False,
) -> PlanPage:
    """One page of the plan under ``rules`` (the ranking must be fresh: ``refresh``), with its totals.

    A page is a keyset range of the order: each phase's rows after the cursor, walked on the ranking
    index. Whether a row is funded is decided against the budget's cut-off of this request (so a page
    always agrees with its totals); the rank and running total shown continue from the cursor's.
    ``notes``: the plan-wide notes and those of the page's communes (3,321 communes' notes on every
    page were most of a page with commune minimums); ``all_notes``: every note (the exports)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ServiceError("limit must be between 1 and %(max_limit)s", max_limit=MAX_LIMIT)
    position = _decode(rules, cursor) if cursor else None
    key = position[:6] if position else None
    rank, cum = (int(position[6]), int(position[7])) if position else (0, 0)
    totals = totals or plan_totals(session, rules, scope=scope)
    picked, spent, stop = totals["picked"], totals["spent"], totals["stop"]

    rows: list[tuple[list[Any], Any]] = []  # (key, ranked row or None)
    order = totals.get("order") or _Order(session, rules, scope)
    for phase in order.phases():
        if key is not None and phase < key[0]:
            continue
        walked = order.walk(phase, key if key is not None and phase == key[0] else None, limit + 1)
        rows.extend(itertools.islice(walked, limit + 1 - len(rows)))
        if len(rows) > limit:
            break
    if len(rows) <= limit:
        after = key[5] if key is not None and key[0] == UNRANKED else 0
        q = _scoped(
            select(_T.c.device_id).where(
                not_(_ranked_condition(rules)),
                or_(
                    _T.c.status.not_in(ranking.BUYABLE),
                    _T.c.virtual.is_(True),
                    _must(rules),
                    _T.c.score >= rules.min_score,
                ),
                _T.c.device_id > after,
            ),
            scope,
        )
        for (device_id,) in _run(session, q.order_by(_T.c.device_id).limit(limit + 1 - len(rows))).all():
            rows.append(([UNRANKED, 0, 0.0, 0, 0, device_id], None))
    more = len(rows) > limit
    rows = rows[:limit]
    shown = rows
    if only_notable:  # an export: the priority phase's unfunded rows are listed only when notable
        shown = [
            (k, r)
            for k, r in rows
            if r is None or k[0] != 2 or stop is None or k <= stop or r.category in NOTABLE_CATEGORIES
        ]
    details = candidates(session, [k[5] for k, _ in shown], costs)
    picks: list[PlanItem] = []
    non_picks: list[NonPick] = []
    for k, r in rows:
        if r is not None:
            rank, cum = rank + 1, cum + int(r.cost)
        if k[5] not in details:
            continue
        c = details[k[5]]
        if r is None:
            non_picks.append(_unranked(c, rules))
            continue
        phase = PHASES[k[0]]
        if stop is None or k < stop:
            picks.append(PlanItem(c, rank, phase, _pick_reason(c, phase, rules), cum))
        elif k == stop:
            params = {"cost": c.cost or 0, "remaining": rules.budget - spent}
            non_picks.append(NonPick(c, {"code": "skip_budget_first", "params": params}, True, rank))
        else:
            params = {"rank": picked + 1, "cost": c.cost or 0, "remaining": rules.budget - spent}
            notable = _notable(c, rules) or phase != "priority"
            non_picks.append(NonPick(c, {"code": "skip_budget", "params": params}, notable, rank))
    if all_notes:
        notes = totals["notes"]
    else:
        codes = {details[k[5]].site_code for k, _ in rows if k[5] in details}
        notes = totals["head"] + [n for code, n in totals["short"] if code in codes]
    return PlanPage(
        rules=rules,
        picks=picks,
        non_picks=non_picks,
        notes=notes,
        notes_count=len(totals["notes"]),
        generated_at=totals["generated_at"],
        unit_costs=dict(costs),
        spent=spent,
        picked=picked,
        sites=totals["sites"],
        next_cursor=_encode(rules, [*rows[-1][0], rank, cum]) if more and rows else None,
        limit=limit,
    )


def _pick_reason(c: Candidate, phase: str, rules: PlanRules) -> dict[str, Any]:
    if phase == "must":
        return {"code": "pick_must", "params": {"rules": list(c.must_rules(rules.must_replace))}}
    if phase == "minimum":
        return {"code": "pick_minimum", "params": {"site": c.site_name, "n": rules.minimum_for(c.site_code)}}
    return {"code": "pick_priority", "params": {"score": c.score, "cost": c.cost}}


def _unranked(c: Candidate, rules: PlanRules) -> NonPick:
    if c.status in (LifecycleStatus.RETIRED, LifecycleStatus.SPARE):
        return NonPick(c, {"code": "skip_status", "params": {"status": c.status}}, _notable(c, rules))
    if c.virtual:
        return NonPick(c, {"code": "skip_virtual", "params": {}}, _notable(c, rules))
    return NonPick(c, {"code": "skip_no_cost", "params": {"device_class": c.device_class}}, True)


def _cut_off(
    order: _Order,
    phase: int,
    budget: int,
    per_site: dict[int, list[int]],
    whole: Callable[[], list[tuple[int, int, int]]] | None = None,
) -> tuple[int, int, tuple[list[Any], Row] | None]:
    """Walk ``phase`` in order until ``budget`` is spent: (rows funded, their cost, the first row not
    funded or None); ``per_site`` counts the funded rows per commune. The walk reads keyset batches
    growing from 32 (most budgets buy tens of devices, not hundreds). ``whole``: the phase's rows per
    commune (site, count, cost), asked when the first batch is all funded: when the budget pays for the
    whole phase (big budgets and the ~3,500 must-replace rows), that is the answer without the walk."""
    n, spent = 0, 0
    mine: dict[int, list[int]] = {}
    stop: tuple[list[Any], Row] | None = None
    for i, (key, r) in enumerate(order.walk(phase, None, 32)):
        if i == 32 and whole is not None:
            rows = whole()
            if sum(cost for _, _, cost in rows) <= budget:
                mine = {site: [count, cost] for site, count, cost in rows}
                n, spent = sum(count for _, count, _ in rows), sum(cost for _, _, cost in rows)
                break
        if spent + r.cost > budget:
            stop = (key, r)
            break
        n, spent = n + 1, spent + r.cost
        site = mine.setdefault(r.site_id, [0, 0])
        site[0], site[1] = site[0] + 1, site[1] + r.cost
    for site_id, (count, cost) in mine.items():
        site = per_site.setdefault(site_id, [0, 0])
        site[0], site[1] = site[0] + count, site[1] + cost
    return n, spent, stop


def _must_per_site(session: Session, rules: PlanRules, scope: Scope) -> list[tuple[int, int, int]]:
    """The must-replace phase per commune (site, count, cost): one grouped count on
    ``ix_device_score_current_must`` (~3,500 rows at national size)."""
    q = _scoped(
        select(_T.c.site_id, func.count(), func.sum(_T.c.cost)).where(_ranked_condition(rules), _must(rules)),
        scope,
    ).group_by(_T.c.site_id)
    return [(int(s), int(n), int(c)) for s, n, c in _run(session, q).all()]


@dataclass
class _Totals:
    """What ``plan_totals`` computes from the ranking and the sites alone (no hostname: a device is
    renamed without touching either), kept by ``_CACHE`` for one ranking version."""

    picked: int
    spent: int
    stop: tuple[list[Any], Row] | None
    sites: list[dict[str, Any]]
    head: list[dict[str, Any]]  # the plan-wide notes (why empty, the leftover), hostnames left out
    short: list[tuple[str, dict[str, Any]]]  # (commune code, its "minimum not reached"), by code
    minimum: list[tuple[list[Any], Row]] | None = None  # the minimum phase, once read
    per_site: dict[int, tuple[int, int]] = field(default_factory=dict)  # site id -> funded (count, cost)
    names: dict[int, tuple[str, str]] = field(default_factory=dict)  # site id -> (code, name), of per_site
    minimum_keys: dict[int, list[Any]] | None = None  # the minimum phase's keys by device (``_advance``)

    def keys_of_minimum(self) -> dict[int, list[Any]] | None:
        if self.minimum_keys is None and self.minimum is not None:
            self.minimum_keys = {r.device_id: k for k, r in self.minimum}
        return self.minimum_keys


class _TotalsCache:
    """Plan totals per plan (database, rules, scope), each at the ranking version it was computed for,
    least recently used first out.

    Never stale: ``ranking_version.n`` is raised in the same commit as every write to
    ``device_score_current`` or ``site`` (the only tables the totals read; hostnames are read per
    request), and commits that raise it are serialised on its row, so two snapshots that see the same
    ``n`` see the same ranking and sites. A total is stored only when ``n`` read before computing it
    equals ``n`` read after (no such commit in between: the statements, each its own snapshot, all saw
    that state), and only by a transaction that has written nothing itself (``pg_current_xact_id_if_
    assigned()`` is null: its own uncommitted writes are not in ``n``). A hit is a state the reader's
    next statement would see too. Totals of an older version are not served: they are the starting point
    of ``_advance`` (the rows the versions since changed, from ``ranking_change``)."""

    SIZE = 16

    def __init__(self) -> None:
        self._entries: OrderedDict[tuple[Any, ...], tuple[int, str, _Totals]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> tuple[int, str, _Totals] | None:
        """The plan's kept totals with their version (``n``, row xmin), whatever the version."""
        with self._lock:
            held = self._entries.get(key)
            if held is not None:
                self._entries.move_to_end(key)
            return held

    def put(self, key: tuple[Any, ...], n: int, xmin: str, entry: _Totals) -> None:
        """Keep ``entry`` as the plan's totals at version (``n``, ``xmin``), unless newer ones are kept."""
        with self._lock:
            held = self._entries.get(key)
            if held is None or held[0] <= n:
                self._entries[key] = (n, xmin, entry)
            self._entries.move_to_end(key)
            while len(self._entries) > self.SIZE:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_CACHE = _TotalsCache()


def ranking_version(session: Session) -> tuple[Any, ...] | None:
    """The ranking's version as this statement sees it, (database oid, ``n``, the row's xmin), or None
    when it may not key a cache: not PostgreSQL (no triggers raise it), the version row missing, or this
    transaction has written (its writes are not counted until it commits). The database's oid tells
    apart two databases of one name (dropped and created again) and the row's xmin a version number
    reused after a restore."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    row = _run(
        session,
        select(
            _V.c.n,
            literal_column("ranking_version.xmin::text"),
            literal_column("(SELECT oid FROM pg_database WHERE datname = current_database())"),
            literal_column("pg_current_xact_id_if_assigned() IS NULL"),
        ).where(_V.c.id == 1),
    ).one_or_none()
    if row is None or not row[3]:
        return None
    return (int(row[2]), int(row[0]), str(row[1]))


def _cache_key(session: Session, rules: PlanRules, scope: Scope, oid: int) -> tuple[Any, ...]:
    return (
        session.get_bind().engine.url.render_as_string(hide_password=True),
        oid,
        rules.budget,
        _rules_digest(rules),
        None if scope is None else frozenset(scope),
    )


def plan_totals(session: Session, rules: PlanRules, *, scope: Scope) -> dict[str, Any]:
    """The whole plan's figures: the devices funded and their cost (per commune too), the first device
    not funded, and the notes (leftover, minimums not reached, why empty). The order is walked on the
    ranking index only as far as the budget reaches (the picks, not every candidate). On PostgreSQL
    computed once per ranking version (``_TotalsCache``), or advanced from an earlier version's by the
    ranking rows written since (``_advance``); every time elsewhere."""
    version = ranking_version(session)
    key = _cache_key(session, rules, scope, version[0]) if version is not None else None
    held = _CACHE.get(key) if key is not None else None
    entry: _Totals | None = None
    order: _Order | None = None
    if held is not None and version is not None:
        kept_n, kept_xmin, kept = held
        if (kept_n, kept_xmin) == (version[1], version[2]):
            entry = kept
        elif kept_n < version[1]:
            advanced = _advance(session, rules, scope, kept, kept_n, kept_xmin, version[1])
            # Kept and served only if no commit came between the statements that advanced it (each its
            # own snapshot): else they may have mixed two states, and the totals are computed afresh.
            if advanced is not None and ranking_version(session) == version:
                entry, order = advanced
                _CACHE.put(key, version[1], version[2], entry)
    if entry is None:
        entry, order = _compute_totals(session, rules, scope)
        if key is not None and version is not None and ranking_version(session) == version:
            _CACHE.put(key, version[1], version[2], entry)
        else:
            key = None
    kept_entry = entry

    def keep_minimum(rows: list[tuple[list[Any], Row]]) -> None:
        # Read by a page after the totals: kept with them if nothing was committed meanwhile.
        if key is not None and kept_entry.minimum is None and ranking_version(session) == version:
            kept_entry.minimum = rows

    if order is None:
        order = _Order(session, rules, scope, minimum=entry.minimum, on_minimum=keep_minimum)
    elif order._minimum is None:
        order._on_minimum = keep_minimum
    head = [dict(n, params=dict(n["params"])) for n in entry.head]
    named = [n for n in head if n["code"] in ("leftover", "empty_budget")]
    if named and entry.stop is not None:
        stop_id = entry.stop[1].device_id
        hostname = session.exec(entities(Device.hostname).where(Device.id == stop_id)).one()
        for n in named:
            n["params"]["hostname"] = hostname
    return {
        "picked": entry.picked,
        "spent": entry.spent,
        "stop": entry.stop[0] if entry.stop else None,
        "sites": entry.sites,
        "head": head,
        "short": entry.short,
        "notes": head + [n for _, n in entry.short],
        "generated_at": datetime.now(UTC),
        "order": order,  # the plan's order, its commune minimums read once for the pages that follow
    }


def _compute_totals(session: Session, rules: PlanRules, scope: Scope) -> tuple[_Totals, _Order]:
    picked, spent, stop = 0, 0, None
    per_site: dict[int, list[int]] = {}
    order = _Order(session, rules, scope)
    must_rows: list[list[tuple[int, int, int]]] = []

    def whole() -> list[tuple[int, int, int]]:
        if not must_rows:
            must_rows.append(_must_per_site(session, rules, scope))
        return must_rows[0]

    for phase in order.phases():
        got, cost, first_unfunded = _cut_off(
            order, phase, rules.budget - spent, per_site, whole if phase == 0 else None
        )
        picked, spent = picked + got, spent + cost
        if first_unfunded is not None:
            stop = first_unfunded
            break
    names: dict[int, tuple[str, str]] = {}
    if per_site:
        names = _site_names(session, per_site)
    head: list[dict[str, Any]] = []
    if stop is not None:
        head.append(_leftover(rules, spent, stop))
    short: list[tuple[str, dict[str, Any]]] = []
    if _has_minimums(rules):
        short = _short_notes(session, rules, scope, order, per_site, whole)
    if not picked:
        head.insert(0, _empty_reason(session, rules, scope, stop[1] if stop else None))
    funded = {site: (n, cost) for site, (n, cost) in per_site.items()}
    names = {site: names[site] for site in funded}
    totals = _Totals(picked, spent, stop, _by_site(funded, names), head, short, order._minimum, funded, names)
    return totals, order


def _leftover(rules: PlanRules, spent: int, stop: tuple[list[Any], Row]) -> dict[str, Any]:
    return {"code": "leftover", "params": {"remaining": rules.budget - spent, "cost": int(stop[1].cost)}}


def _by_site(per_site: dict[int, tuple[int, int]], names: dict[int, tuple[str, str]]) -> list[dict[str, Any]]:
    """The funded devices per commune, by commune code (the plan's ``by_site``)."""
    return [
        {"site": names[i][0], "name": names[i][1], "count": n, "cost": cost}
        for i, (n, cost) in sorted(per_site.items(), key=lambda item: names[item[0]][0])
    ]


# ---- totals advanced by the ranking rows written since ------------------------------------------

# At most this many ranking rows changed since the kept totals (else they are computed afresh), and at
# most this many versions behind (``ranking_change`` keeps 64).
ADVANCE_MAX_ROWS = 2000
ADVANCE_MAX_VERSIONS = 48
_CHANGE = RankingChange.__table__  # type: ignore[attr-defined]
_COMMIT = RankingCommit.__table__  # type: ignore[attr-defined]
# A ranking row's columns that decide its place in a plan: as logged (the row before a write) and as
# read now.
_STATE = (
    "site_id",
    "score",
    "category",
    "status",
    "storage_failed",
    "eligible",
    "cost",
    "neg_ratio",
    "neg_score",
)


class _State(NamedTuple):
    """A ranking row's columns that decide whether and where it is in a plan's order."""

    device_id: int
    site_id: int
    score: int
    category: str
    status: str
    storage_failed: bool
    eligible: bool
    cost: int
    neg_ratio: float
    neg_score: int


def _state(device_id: int, r: Any) -> _State | None:
    """A ``_State`` from the ``_STATE`` columns of a row (None: the site is NULL, no row)."""
    if r[0] is None:
        return None
    return _State(
        device_id,
        int(r[0]),
        int(r[1]),
        r[2],
        r[3],
        bool(r[4]),
        bool(r[5]),
        int(r[6] or 0),
        float(r[7]),
        int(r[8]),
    )


def _is_must(rules: PlanRules, s: _State) -> bool:
    """``_must(rules)`` over a row's columns."""
    return (
        ("lifecycle_to_replace" in rules.must_replace and s.status == LifecycleStatus.TO_REPLACE.value)
        or ("storage_failed" in rules.must_replace and s.storage_failed)
        or ("replace_now" in rules.must_replace and s.category == ScoreCategory.REPLACE_NOW.value)
    )


def _place(
    rules: PlanRules, scope: Scope, s: _State | None, minimum: dict[int, list[Any]] | None
) -> list[Any] | None:
    """The key of a row in the plan's order (``_key``), None when it is not a candidate (or outside the
    scope). ``minimum``: the minimum phase's keys by device; None when not read (then every row that is
    neither must-replace nor in the minimum phase is placed in phase 2, after any phase-0 key)."""
    if s is None or not s.eligible or (scope is not None and s.site_id not in scope):
        return None
    tail = [s.neg_ratio, s.neg_score, s.cost, s.device_id]
    if _is_must(rules, s):
        return [0, 0, *tail]
    if s.score < rules.min_score:
        return None
    if minimum is not None and s.device_id in minimum:
        return minimum[s.device_id]
    return [2, 0, *tail]


def _changes(session: Session, n: int, xmin: str, to: int) -> list[Any] | None:
    """The ``ranking_change`` rows of the versions after ``n`` (row xmin ``xmin``) up to ``to``, in the
    order they were written: (version, prev, device_id, the ``_STATE`` columns, recompute). None when
    they cannot be followed: over ``ADVANCE_MAX_ROWS`` rows or ``ADVANCE_MAX_VERSIONS`` versions, a
    version missing (deleted as too old), another chain (a restored or emptied database: the first
    version's ``prev`` is not ``xmin``), or a commit marked ``recompute``."""
    if to - n > ADVANCE_MAX_VERSIONS:
        return None
    # Each commit's rows as a LATERAL with a LIMIT: a probe of ``ix_ranking_change_xid`` per commit (a
    # plain join was planned as a hash join over the whole log, 18 ms for 24,000 rows).
    rows = (
        select(_CHANGE.c.id, _CHANGE.c.device_id, *[_CHANGE.c[c] for c in _STATE], _CHANGE.c.recompute)
        .where(_CHANGE.c.xid == _COMMIT.c.xid)
        .order_by(_CHANGE.c.id)
        .limit(ADVANCE_MAX_ROWS + 1)
        .lateral("rows")
    )
    log = _run(
        session,
        select(
            _COMMIT.c.version,
            _COMMIT.c.prev,
            rows.c.device_id,
            *[rows.c[c] for c in _STATE],
            rows.c.recompute,
        )
        .select_from(_COMMIT.outerjoin(rows, true()))
        .where(_COMMIT.c.version > n, _COMMIT.c.version <= to)
        .order_by(_COMMIT.c.version, rows.c.id)
        .limit(ADVANCE_MAX_ROWS + 1),
    ).all()
    if len(log) > ADVANCE_MAX_ROWS or {int(r[0]) for r in log} != set(range(n + 1, to + 1)):
        return None
    # A commit with no row logged (none of its statements logged one) is not expected: recompute.
    if any(r[-1] is not False for r in log) or any(r[1] != xmin for r in log if int(r[0]) == n + 1):
        return None
    return list(log)


def _advance(
    session: Session, rules: PlanRules, scope: Scope, base: _Totals, n: int, xmin: str, to: int
) -> tuple[_Totals, _Order] | None:
    """The totals of version ``to`` from ``base``, those of version ``n`` (row xmin ``xmin``), by the
    ranking rows the commits in between wrote (``ranking_change``); None when they cannot be (a site
    written, too many rows, versions missing or of another chain, an empty plan): then they are
    computed afresh.

    The plan funds the longest prefix of its order that the budget pays for. Let K be the key of the
    base's first unfunded row (the stop; none: everything is funded). The rows whose key can differ
    between the two versions are the rows written and, in each commune of a written row (its site
    before or after), the rows that enter or leave that commune's minimum phase; every other row keeps
    its key. So the new cost of the rows before K is the base's spent, less the changed rows that were
    before K, plus those that are now. If that fits the budget, the new prefix reaches K at least and
    the walk goes on forwards from K; else it ends before K, and the walk goes backwards from K taking
    rows out until the sum fits (the row taken out last is the new stop). The communes' notes change
    only for the communes of written rows (their candidates) and those whose funded count changed."""
    if not base.picked:
        return None
    has_minimums = _has_minimums(rules)
    if has_minimums and base.minimum is None and (base.stop is None or base.stop[0][0] != 0):
        return None  # (the minimum phase is read whenever the cut-off passes phase 0)
    log = _changes(session, n, xmin, to)
    if log is None:
        return None
    before: dict[int, _State | None] = {}
    for r in log:  # a row's state at version n: before the first write since (no id: devices added)
        if r[2] is not None:
            before.setdefault(int(r[2]), _state(int(r[2]), r[3:-1]))
    columns = [_T.c[c] for c in _STATE]
    after: dict[int, _State | None] = dict.fromkeys(before)
    for r in _run(session, select(_T.c.device_id, *columns).where(_among(session, _T.c.device_id, before))):
        after[int(r[0])] = _state(int(r[0]), r[1:])
    touched = {s.site_id for s in [*before.values(), *after.values()] if s is not None}
    if scope is not None:
        touched &= set(scope)

    # The minimum phase: the touched communes' rows read again (a LATERAL walk of those communes).
    old_min: dict[int, list[Any]] | None = None
    new_min: dict[int, list[Any]] | None = None
    minimum: list[tuple[list[Any], Row]] | None = None
    moved: dict[int, tuple[Row | None, Row | None]] = {}  # minimum rows of the touched communes, old/new
    if has_minimums and base.minimum is not None:
        old_min = base.keys_of_minimum()
        assert old_min is not None
        new_min, minimum = old_min, base.minimum
        if touched:
            rows = _run(session, _minimum_query(session, rules, touched)).all()
            fresh = [(_key(1, row), row) for row in (_row(r, int(r[6])) for r in rows)]
            new_min, minimum = dict(old_min), []
            for kr in base.minimum:  # still in order: the touched communes' rows out, their new ones in
                if kr[1].site_id in touched:
                    moved[kr[1].device_id] = (kr[1], None)
                    del new_min[kr[1].device_id]
                else:
                    minimum.append(kr)
            for kr in fresh:
                bisect.insort(minimum, kr, key=lambda kr: kr[0])
                new_min[kr[1].device_id] = kr[0]
                moved[kr[1].device_id] = (moved.get(kr[1].device_id, (None, None))[0], kr[1])

    stop_key = base.stop[0] if base.stop is not None else None

    def funded(k: list[Any] | None) -> bool:
        return k is not None and (stop_key is None or k < stop_key)

    spent, picked = base.spent, base.picked
    per_site: dict[int, list[int]] = {}  # the communes whose funded rows changed: their new (count, cost)

    def add(site: int, cost: int, sign: int) -> None:
        nonlocal spent, picked
        got = per_site.get(site)
        if got is None:
            got = per_site[site] = list(base.per_site.get(site, (0, 0)))
        got[0], got[1] = got[0] + sign, got[1] + sign * cost
        spent, picked = spent + sign * cost, picked + sign

    for device_id in before.keys() | moved.keys():
        if device_id in before:
            old, new = before[device_id], after[device_id]
        else:  # not written: only its minimum-phase place changed (same columns before and after)
            was, now = moved[device_id]
            row = was or now
            assert row is not None
            old = new = _State(
                device_id,
                row.site_id,
                0,
                row.category,
                "",
                False,
                True,
                row.cost,
                row.neg_ratio,
                row.neg_score,
            )
        old_key = (
            _place(rules, scope, old, old_min) if device_id in before else (old_min or {}).get(device_id)
        )
        new_key = (
            _place(rules, scope, new, new_min) if device_id in before else (new_min or {}).get(device_id)
        )
        if device_id not in before:  # a non-must candidate out of the minimum phase is in phase 2
            assert old is not None
            tail = [old.neg_ratio, old.neg_score, old.cost, device_id]
            old_key = old_key or [2, 0, *tail]
            new_key = new_key or [2, 0, *tail]
        if funded(old_key):
            assert old is not None
            add(old.site_id, old.cost, -1)
        if funded(new_key):
            assert new is not None
            add(new.site_id, new.cost, +1)

    order = _Order(session, rules, scope, minimum=minimum, minimum_ids=new_min)
    phases = order.phases()
    stop: tuple[list[Any], Row] | None = None
    if spent <= rules.budget:
        if stop_key is not None:  # forwards from K (K included: the row at K, if still there)
            start = [*stop_key[:5], stop_key[5] - 1]
            for phase in phases:
                if phase < stop_key[0]:
                    continue
                for k, r in order.walk(phase, start if phase == stop_key[0] else None, 32):
                    if spent + r.cost > rules.budget:
                        stop = (k, r)
                        break
                    add(r.site_id, r.cost, +1)
                if stop is not None:
                    break
    else:  # backwards from K, taking rows out until what is left fits
        for phase in reversed(phases):
            if stop_key is not None and phase > stop_key[0]:
                continue
            for k, r in order.walk_back(phase, stop_key if stop_key and phase == stop_key[0] else None, 32):
                add(r.site_id, r.cost, -1)
                if spent <= rules.budget:
                    stop = (k, r)
                    break
            if stop is not None:
                break
    if not picked or any(v[0] < 0 for v in per_site.values()):
        return None
    changed_sites = {site for site, v in per_site.items() if tuple(v) != base.per_site.get(site, (0, 0))}
    funded_sites = base.per_site
    names = base.names  # a superset of the funded communes' (none is dropped)
    wanted = (touched | changed_sites) if has_minimums else set()
    missing = [site for site in changed_sites if site not in names]
    # The communes' code and name, and (for the notes) their candidates, in one statement.
    looked_up: dict[int, tuple[str, str]] = {}
    counts: dict[int, int] = {}
    if missing or wanted:
        candidates_n = (
            select(func.count()).where(_ranked_condition(rules), _T.c.site_id == _S.c.id).scalar_subquery()
        )
        named = select(_S.c.id, _S.c.code, _S.c.name, candidates_n if wanted else literal(0)).where(
            _among(session, _S.c.id, set(missing) | wanted)
        )
        for site, code, name, count in _run(session, named).all():
            looked_up[int(site)], counts[int(site)] = (code, name), int(count)
    sites = base.sites
    if changed_sites:
        funded_sites = dict(base.per_site)
        for site in changed_sites:
            if per_site[site][0]:
                funded_sites[site] = (per_site[site][0], per_site[site][1])
            else:
                del funded_sites[site]
        if missing:
            names = {**names, **{site: looked_up[site] for site in missing}}
        codes = {names[site][0] for site in changed_sites}
        sites = [row for row in base.sites if row["site"] not in codes]
        for site in changed_sites:  # still by code: the changed communes' rows out, their new ones in
            if site in funded_sites:
                n, cost = funded_sites[site]
                line = {"site": names[site][0], "name": names[site][1], "count": n, "cost": cost}
                bisect.insort(sites, line, key=lambda line: line["site"])
    head = [_leftover(rules, spent, stop)] if stop is not None else []
    short = base.short
    if wanted:
        codes = {looked_up[s][0] for s in wanted if s in looked_up}
        notes = []
        for site in wanted:
            if site not in looked_up:
                continue
            code, name = looked_up[site]
            minimum_n = rules.minimum_for(code)
            got = funded_sites.get(site, (0, 0))[0]
            count = counts.get(site, 0)
            if minimum_n and got < min(minimum_n, count):
                params = {"site": name, "n": minimum_n, "got": got, "eligible": count}
                notes.append((code, {"code": "minimum_short", "params": params}))
        short = [c for c in base.short if c[0] not in codes]
        for note in notes:
            bisect.insort(short, note, key=lambda c: c[0])
    totals = _Totals(picked, spent, stop, sites, head, short, minimum, funded_sites, names, new_min)
    return totals, order


def _among(session: Session, column: Any, ids: Collection[int]) -> Any:
    """``column IN ids``; on PostgreSQL ``= ANY(array)``, one parameter however many ids (an IN list of
    thousands of parameters cost ~50 ms to send)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(literal(sorted(ids), ARRAY(Integer)))
    return column.in_(sorted(ids))


def _site_names(session: Session, ids: Collection[int]) -> dict[int, tuple[str, str]]:
    """Code and name of these sites, as plain rows."""
    named = select(_S.c.id, _S.c.code, _S.c.name)
    if len(ids) <= 500:  # else every site: an IN list of thousands of ids cost ~50 ms to send
        named = named.where(_S.c.id.in_(list(ids)))
    return {int(i): (code, name) for i, code, name in _run(session, named).all()}


def _short_notes(
    session: Session,
    rules: PlanRules,
    scope: Scope,
    order: _Order,
    per_site: dict[int, list[int]],
    must_per_site: Callable[[], list[tuple[int, int, int]]],
) -> list[tuple[str, dict[str, Any]]]:
    """The communes whose minimum the budget does not reach, by code: funded fewer than their minimum or
    their candidates, whichever is less (the note also gives the candidates).

    When the totals read the minimum phase, a commune's candidates up to its minimum are known without
    counting them: its must-replace candidates plus its minimum-phase rows (the walk took as many as
    the minimum less the must-replace ones, or all it had). Then only the communes short of it are
    counted. Otherwise every commune's candidates are counted, in one grouped statement (~86,700
    candidates: 20-80 ms by load, the most of a plan's totals with minimums)."""
    minimum = order._minimum
    wanted: Collection[int] | None = None  # the communes to count; None: all
    if minimum is not None:
        capped: dict[int, int] = {}
        for site_id, n, _cost in must_per_site():
            capped[site_id] = n
        for _, r in minimum:
            capped[r.site_id] = capped.get(r.site_id, 0) + 1
        codes = _site_names(session, capped) if rules.site_minimums else {}
        wanted = [
            site_id
            for site_id, n in capped.items()
            if per_site.get(site_id, [0, 0])[0]
            < min(rules.minimum_for(codes[site_id][0]) if codes else rules.min_per_site, n)
        ]
        if not wanted:
            return []
    # Each commune's candidate count with its code and name, as plain rows in one statement (loading
    # 3,321 Site objects by an IN list of their ids cost more than the whole page).
    counted = _scoped(select(_T.c.site_id, func.count().label("n")).where(_ranked_condition(rules)), scope)
    if wanted is not None:
        counted = counted.where(_among(session, _T.c.site_id, wanted))
    eligible = counted.group_by(_T.c.site_id).subquery("eligible")
    rows = _run(
        session,
        select(_S.c.code, _S.c.name, eligible.c.site_id, eligible.c.n).join(
            eligible, eligible.c.site_id == _S.c.id
        ),
    ).all()
    short: list[tuple[str, dict[str, Any]]] = []
    for code, name, site_id, count in sorted(rows, key=lambda r: r[0]):
        n = rules.minimum_for(code)
        got = per_site.get(site_id, [0, 0])[0]
        if n and got < min(n, int(count)):
            params = {"site": name, "n": n, "got": got, "eligible": int(count)}
            short.append((code, {"code": "minimum_short", "params": params}))
    return short


def _empty_reason(session: Session, rules: PlanRules, scope: Scope, first: Any) -> dict[str, Any]:
    """``plan._empty_reason`` by counts: why a plan funds nothing, most telling reason first."""
    if first is not None:  # the first device in the order costs more than the budget (its hostname:
        # ``plan_totals``, per request)
        return {"code": "empty_budget", "params": {"cost": int(first.cost), "budget": rules.budget}}
    must = _must(rules)
    off = _T.c.status.in_([LifecycleStatus.RETIRED.value, LifecycleStatus.SPARE.value])
    virtual = _T.c.virtual.is_(True)
    needed = or_(must, _T.c.score >= rules.min_score)
    notable = or_(
        must, _T.c.category.in_([ScoreCategory.REPLACE_NOW.value, ScoreCategory.PLAN_12_MONTHS.value])
    )

    def n(cond: Any) -> Any:
        return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)

    total, virtuals, no_cost, status_notable, active_needed = _run(
        session,
        _scoped(
            select(
                func.count(),
                n(virtual),
                n(and_(not_(off), not_(virtual), needed)),  # not ranked, so not priced
                n(and_(off, notable)),
                n(and_(not_(off), not_(virtual), needed)),
            ),
            scope,
        ),
    ).one()
    if not total:
        return {"code": "empty_no_devices", "params": {}}
    if virtuals == total:
        return {"code": "empty_only_virtual", "params": {"n": int(total)}}
    if no_cost:
        return {"code": "empty_no_cost", "params": {"n": int(no_cost)}}
    if status_notable and not active_needed:
        return {"code": "empty_not_in_service", "params": {"n": int(status_notable)}}
    return {"code": "empty_none_needed", "params": {"n": int(total - virtuals), "min_score": rules.min_score}}


def iter_plan(
    session: Session,
    rules: PlanRules,
    *,
    scope: Scope,
    costs: dict[str, int],
    batch: int = 1000,
    only_notable: bool = False,
) -> Iterator[PlanPage]:
    """The whole plan in keyset batches (exports): the totals counted once, one batch in memory.
    ``only_notable`` leaves out the unfunded priority rows that are not notable (the CSV, XLSX and PDF
    list the notable ones only): their details are not read."""
    totals = plan_totals(session, rules, scope=scope)
    cursor: str | None = None
    while True:
        page = plan_page(
            session,
            rules,
            scope=scope,
            costs=costs,
            cursor=cursor,
            limit=batch,
            totals=totals,
            only_notable=only_notable,
            all_notes=True,
        )
        yield page
        if not page.next_cursor:
            return
        cursor = page.next_cursor


@dataclass
class NotesPage:
    """A page of the plan's notes: the plan-wide ones first, then each commune's by code."""

    notes: list[dict[str, Any]]
    count: int
    next_cursor: str | None = None


def plan_notes(
    session: Session, rules: PlanRules, *, scope: Scope, cursor: str | None = None, limit: int = 500
) -> NotesPage:
    """The whole plan's notes a page at a time (a plan page carries only its communes'): keyset pages
    over (plan-wide notes, then commune code); the cursor is the last commune code shown."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ServiceError("limit must be between 1 and %(max_limit)s", max_limit=MAX_LIMIT)
    after: list[Any] | None = None
    if cursor:
        bad = ServiceError(
            "the page cursor is not valid (it may be from other rules); start from the first page"
        )
        try:
            tag, digest, after = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
            raise bad from None
        if (
            tag != "notes"
            or digest != _rules_digest(rules)
            or not isinstance(after, list)
            or len(after) != 2
            or not isinstance(after[0], int)
            or not isinstance(after[1], str)
        ):
            raise bad
    totals = plan_totals(session, rules, scope=scope)
    # Each note's key: (0, its place) for the plan-wide notes, (1, commune code) for a commune's.
    keyed = [([0, str(i).zfill(3)], n) for i, n in enumerate(totals["head"])]
    keyed += [([1, code], n) for code, n in totals["short"]]
    start = 0 if after is None else bisect.bisect_right([k for k, _ in keyed], after)
    rows = keyed[start : start + limit + 1]
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more:
        raw = json.dumps(["notes", _rules_digest(rules), rows[-1][0]], separators=(",", ":"))
        next_cursor = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    return NotesPage([n for _, n in rows], len(totals["notes"]), next_cursor)


def candidates(session: Session, device_ids: list[int], costs: dict[str, int]) -> dict[int, Candidate]:
    """These devices as plan candidates, with the details a plan shows: one query (each round trip
    counted on a busy database server)."""
    if not device_ids:
        return {}
    cur = DeviceScoreCurrent
    system = and_(col(DeviceSection.device_id) == col(cur.device_id), col(DeviceSection.section) == "system")
    rows = session.exec(
        entities(
            cur,
            Device.hostname,
            Device.serial,
            Device.platform,
            Site.code,
            Site.name,
            DeviceScore.factors,
            Asset.asset_tag,
            Asset.purchase_date,
            DeviceSection.data,
        )
        .join(Device, col(Device.id) == col(cur.device_id))
        .join(Site, col(Site.id) == col(cur.site_id))
        .outerjoin(DeviceScore, col(DeviceScore.device_id) == col(cur.device_id))
        .outerjoin(Asset, col(Asset.device_id) == col(cur.device_id))
        .outerjoin(DeviceSection, system)
        .where(col(cur.device_id).in_(device_ids))
    ).all()
    out: dict[int, Candidate] = {}
    for row, hostname, serial, platform, site_code, site_name, factors, tag, bought, sysdata in rows:
        did = row.device_id
        sysdata = sysdata or {}
        out[did] = Candidate(
            device_id=did,
            hostname=hostname,
            site_code=site_code,
            site_name=site_name,
            device_class=row.device_class,
            score=row.score,
            category=row.category,
            cost=costs.get(row.device_class),
            factors=tuple(factors or ()),
            status=row.status,
            virtual=row.virtual,
            storage_failed=row.storage_failed,
            asset_tag=tag,
            model=" ".join(x for x in (sysdata.get("vendor"), sysdata.get("model")) if x) or platform,
            serial=serial,
            purchase_date=bought,
        )
    return out


def open_plan(
    session: Session,
    *,
    budget: int,
    scope: Scope,
    min_per_site: int = 0,
    site_minimums: dict[str, int] | None = None,
    must_replace: list[str] | tuple[str, ...] | None = None,
    config: ScoringConfig | None = None,
    today: date | None = None,
) -> tuple[PlanRules, dict[str, int]]:
    """The rules and unit costs of a plan, the ranking refreshed first (the caller commits)."""
    config = config or load_config()
    rules = make_rules(
        budget=budget,
        min_per_site=min_per_site,
        site_minimums=site_minimums,
        must_replace=must_replace,
        config=config,
    )
    return rules, refresh(session, scope=scope, config=config, today=today)
