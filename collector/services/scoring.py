"""Replacement priority (docs/planning.md, "The score"): an explainable 0-100 score per device.

The score is the sum of six named factors (storage, OS support, age, battery, adequacy,
instability). Each earns a fraction of its weight and carries the evidence that led there, so a
planner can read *why* a PC ranks where it does. Weights and thresholds come from
``collector/data/scoring.yaml`` (override: ``WARDWATCH_SCORING_CONFIG``).

``score_device`` is a pure function of the facts, the check results, the asset record and the day;
``recompute_scores`` reads those from the database in a few batched queries and writes a score row
only when its inputs changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, col, select

from collector.localtime import today as local_today
from collector.models.assets import Asset, DeviceClass, DeviceScore, LifecycleStatus, ScoreCategory
from collector.models.core import Device, DeviceKind, DeviceResult, DeviceSection
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

FACTORS = ("storage", "os_support", "age", "battery", "adequacy", "instability")
# Fact sections a score reads; a report changing none of them leaves the score as it is.
SECTIONS = ("system", "os", "cpu", "memory", "disks", "filesystems", "batteries", "security", "health")
GIB = 1024**3


# ---- the score ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultView:
    """A stored check result, as the scoring reads it."""

    status: str
    evidence: str = ""
    observed: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AssetView:
    purchase_date: date | None = None
    device_class: str | None = None
    status: str = LifecycleStatus.IN_SERVICE


@dataclass
class Factor:
    name: str
    weight: int
    fraction: float = 0.0
    evidence: list[dict[str, Any]] = field(default_factory=list)
    known: bool = True
    critical: list[str] = field(default_factory=list)

    @property
    def points(self) -> float:
        return round(self.weight * max(0.0, min(1.0, self.fraction)), 1)

    def add(self, code: str, **params: Any) -> None:
        item = {"code": code, "params": params}
        item["text"] = render_evidence(item, "en")
        self.evidence.append(item)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "weight": self.weight,
            "points": self.points,
            "fraction": round(self.fraction, 3),
            "known": self.known,
            "critical": self.critical,
            "evidence": self.evidence,
        }


@dataclass
class ScoreResult:
    score: int
    category: ScoreCategory
    device_class: str
    factors: list[Factor]
    category_reason: str | None = None
    virtual: bool = False

    def factor(self, name: str) -> Factor:
        return next(f for f in self.factors if f.name == name)


def device_class_of(facts: Facts, kind: str = DeviceKind.HOST, override: str | None = None) -> str:
    if override and override in DeviceClass.__members__.values():
        return override
    if kind == DeviceKind.NETWORK_DEVICE:
        return DeviceClass.NETWORK_DEVICE
    chassis = ((facts.system.chassis if facts.system else None) or "").lower()
    if any(w in chassis for w in ("laptop", "notebook", "portable", "tablet", "convertible", "detachable")):
        return DeviceClass.LAPTOP
    if "server" in chassis or "rack" in chassis or "blade" in chassis:
        return DeviceClass.SERVER
    if any(w in chassis for w in ("desktop", "tower", "mini", "all-in-one", "all in one", "lunch", "pizza")):
        return DeviceClass.DESKTOP
    if facts.batteries:
        return DeviceClass.LAPTOP
    if facts.os and "server" in facts.os.name.lower():
        return DeviceClass.SERVER
    return DeviceClass.DESKTOP if kind == DeviceKind.HOST else DeviceClass.OTHER


def is_virtual(facts: Facts) -> bool:
    s = facts.system
    return bool(s and (s.virtual or (s.chassis or "").lower() in ("vm", "virtual")))


def _disk_label(d: Any) -> str:
    return " ".join(x for x in (d.name, f"({d.model})" if d.model else "") if x)


def _storage(facts: Facts, cfg: StorageConfig, weight: int) -> Factor:
    f = Factor("storage", weight)
    disks = [d for d in facts.disks or [] if not d.removable and (d.bus or "").lower() != "usb"]
    with_smart = [d for d in disks if d.smart is not None]
    if not with_smart:
        f.known = False
        f.add("no_facts", what="disks")
        return f
    worst = 0.0
    for d in with_smart:
        s = d.smart
        assert s is not None
        label = _disk_label(d)
        if not s.available:
            f.add("disk_unreadable", disk=label, why=(s.error or "no data")[:120])
            continue
        found: list[tuple[str, float]] = []
        if s.passed is False:
            found.append(("overall_failed", cfg.overall_failed))
            f.add("disk_overall_failed", disk=label)
        if s.nvme_critical_warning:
            found.append(("nvme_critical_warning", cfg.nvme_critical_warning))
            f.add("disk_nvme_critical", disk=label, value=s.nvme_critical_warning)
        if s.predict_failure:
            found.append(("predict_failure", cfg.predict_failure))
            f.add("disk_predict_failure", disk=label)
        status = (s.health_status or "").lower()
        if status == "unhealthy":
            found.append(("health_unhealthy", cfg.health_unhealthy))
            f.add("disk_health_status", disk=label, value=status)
        elif status == "warning":
            found.append(("health_warning", cfg.health_warning))
            f.add("disk_health_status", disk=label, value=status)
        raw_rules = {
            5: "reallocated_sectors",
            187: "reported_uncorrectable",
            188: "command_timeouts",
            197: "pending_sectors",
            198: "offline_uncorrectable",
        }
        for a in s.attributes:
            if a.when_failed == "now":
                found.append(("attribute_failing_now", cfg.attribute_failing_now))
                f.add("disk_attr_failing", disk=label, id=a.id, name=a.name, when=a.when_failed)
            rule = raw_rules.get(a.id)
            if rule and a.raw > 0:
                found.append((rule, getattr(cfg, rule)))
                f.add("disk_attr_raw", disk=label, id=a.id, name=a.name, value=a.raw)
        if s.media_errors:
            found.append(("media_errors", cfg.media_errors))
            f.add("disk_media_errors", disk=label, value=s.media_errors)
        io_errors = (s.read_errors_uncorrected or 0) + (s.write_errors_uncorrected or 0)
        if io_errors:
            found.append(("uncorrected_io_errors", cfg.uncorrected_io_errors))
            f.add("disk_io_errors", disk=label, value=io_errors)
        used = s.percentage_used
        if used is None and s.life_left_percent is not None:
            used = 100 - s.life_left_percent
        if used is not None and used >= cfg.wear_start:
            span = max(1, cfg.wear_full - cfg.wear_start)
            frac = cfg.wear_fraction * min(1.0, (used - cfg.wear_start) / span)
            found.append(("wear", frac))
            f.add("disk_wear", disk=label, value=used)
        if not found:
            f.add("disk_ok", disk=label)
        for rule, frac in found:
            worst = max(worst, frac)
            if rule in cfg.critical and rule not in f.critical:
                f.critical.append(rule)
    f.fraction = worst
    return f


def _battery(facts: Facts, cfg: BatteryConfig, weight: int) -> Factor:
    f = Factor("battery", weight)
    batteries = [b for b in facts.batteries or [] if b.health_ratio is not None]
    if not batteries:
        if facts.batteries is None:
            f.known = False
        f.add("no_battery")
        return f
    worst = 0.0
    for b in batteries:
        ratio = b.health_ratio or 0.0
        span = max(0.01, cfg.good_ratio - cfg.worn_ratio)
        worst = max(worst, min(1.0, max(0.0, (cfg.good_ratio - ratio) / span)))
        f.add(
            "battery_ratio",
            name=b.name,
            percent=round(ratio * 100),
            full=round(b.full_charge_capacity_wh or 0, 1),
            design=round(b.design_capacity_wh or 0, 1),
            cycles=b.cycle_count if b.cycle_count is not None else "?",
        )
    f.fraction = worst
    return f


def _years_between(start: date, end: date) -> float:
    return max(0.0, (end - start).days / 365.25)


def _age(facts: Facts, asset: AssetView | None, cfg: AgeConfig, weight: int, today: date) -> Factor:
    f = Factor("age", weight)
    years: float | None = None
    if asset and asset.purchase_date:
        years = _years_between(asset.purchase_date, today)
        f.add("age_purchase", years=int(years), date=asset.purchase_date.strftime("%d/%m/%Y"))
    elif facts.system and facts.system.bios_date and facts.system.bios_date.year >= 1995:
        years = _years_between(facts.system.bios_date, today)
        f.add("age_bios", years=int(years), date=facts.system.bios_date.strftime("%d/%m/%Y"))
    elif facts.cpu and facts.cpu.launch_year:
        # Bought, on average, about a year after the CPU came out.
        years = max(0.0, today.year - facts.cpu.launch_year - 0.5)
        f.add("age_cpu", years=int(round(years)), year=facts.cpu.launch_year)
    if years is None:
        f.known = False
        f.add("no_facts", what="age")
        return f
    span = max(0.1, cfg.full_years - cfg.start_years)
    f.fraction = min(1.0, max(0.0, (years - cfg.start_years) / span))
    return f


@cache
def catalog_check_ids(evaluator_name: str) -> tuple[str, ...]:
    """Ids of catalog checks judged by ``evaluator_name`` (the warning variants with ``within_days``
    excluded): where the checks room's results for a question can be read."""
    try:
        from checks.catalog import load_catalog

        catalog = load_catalog()
    except Exception as exc:  # a broken catalog must not stop the scoring: compute from facts
        log.warning("check catalog unreadable (%s); scoring computes OS support from facts", exc)
        return ()
    return tuple(
        sorted(
            c.id
            for c in catalog.values()
            if c.evaluator == evaluator_name and not c.params.get("within_days")
        )
    )


def _evaluate(name: str, facts: Facts, today: date) -> ResultView | None:
    """Run a check evaluator directly on the facts (when the agent sent no result for it)."""
    try:
        from checks.model import evaluation_time, registry
        from checks.runner import MissingFact

        ev = registry().get(name)
    except Exception as exc:
        log.warning("check evaluators unavailable (%s)", exc)
        return None
    if ev is None:
        return None
    try:
        params = ev.params_model.model_validate({})
        with evaluation_time(datetime.combine(today, time(12), tzinfo=UTC)):
            out = ev.fn(facts, params)
    except MissingFact:
        return None
    except Exception as exc:
        log.warning("evaluator %s failed on these facts: %s", name, exc)
        return None
    v = out[0] if isinstance(out, list) and out else out
    if isinstance(v, list):
        return None
    return ResultView(str(v.status.value), v.evidence, dict(v.observed))


def _pick_result(results: dict[str, ResultView], ids: Sequence[str]) -> ResultView | None:
    for check_id in ids:
        r = results.get(check_id)
        if r is not None and r.status in ("pass", "fail", "not_applicable"):
            return r
    return None


def _is_windows11(os_facts: Any) -> bool:
    if "windows 11" in os_facts.name.lower():
        return True
    build = "".join(ch for ch in (os_facts.build or "").split(".")[0] if ch.isdigit())
    return bool(build) and int(build) >= 22000 and "server" not in os_facts.name.lower()


def _os_support(
    facts: Facts, results: dict[str, ResultView], cfg: OsSupportConfig, weight: int, today: date
) -> Factor:
    f = Factor("os_support", weight)
    supported_ids = cfg.supported_check_ids or catalog_check_ids("host.os_supported")
    win11_ids = cfg.windows11_check_ids or catalog_check_ids("host.windows11_eligible")
    support = _pick_result(results, supported_ids)
    if support is None and facts.os is not None:
        support = _evaluate("host.os_supported", facts, today)
    if support is None or support.status not in ("pass", "fail"):
        f.known = False
        text = support.evidence if support else (facts.os.name if facts.os else "")
        f.add("os_unknown", text=text or "—")
        return f
    win11 = _pick_result(results, win11_ids)
    if win11 is None and facts.os is not None:
        win11 = _evaluate("host.windows11_eligible", facts, today)
    family = (facts.os.family if facts.os else "").lower()
    eligible: bool | None = None
    if win11 is not None and win11.status in ("pass", "fail"):
        eligible = win11.status == "pass"
    elif family != "windows" and facts.os is not None:
        eligible = True  # a Linux release is upgraded in place; the hardware is not the limit
    elif facts.os is not None and _is_windows11(facts.os):
        eligible = True  # a newer Windows 11 release installs on the same hardware
    f.add("os_ended" if support.status == "fail" else "os_supported", text=support.evidence)
    if win11 is not None and win11.status in ("pass", "fail"):
        f.add("win11_yes" if eligible else "win11_no", text=win11.evidence)
    days_left = support.observed.get("days_left")
    if support.status == "fail":
        if eligible is True:
            f.fraction = cfg.out_of_support_upgradable
            f.add("os_upgrade_possible")
        elif eligible is False:
            f.fraction = cfg.out_of_support_not_eligible
            f.add("os_no_upgrade")
        else:
            f.fraction = cfg.out_of_support_unknown
            if win11 is not None and win11.status == "not_applicable" and win11.evidence:
                f.add("win11_unknown", text=win11.evidence)
        return f
    if isinstance(days_left, int) and days_left <= cfg.ending_soon_days and eligible is False:
        f.fraction = cfg.ending_soon_not_eligible
        f.add("os_ending_no_upgrade", days=days_left)
    return f


def _system_fs(facts: Facts) -> Any:
    for fs in facts.filesystems or []:
        if fs.mountpoint.rstrip("\\/").upper() in ("", "C:"):
            return fs
    return None


def _adequacy(facts: Facts, cfg: AdequacyConfig, weight: int) -> Factor:
    f = Factor("adequacy", weight)
    if facts.memory is None and facts.disks is None and facts.filesystems is None:
        f.known = False
        f.add("no_facts", what="memory")
        return f
    total = 0.0
    if facts.memory is not None:
        gb = facts.memory.total_bytes / GIB
        # The OS shows a little less than what is installed (firmware and graphics reserve some).
        shown = round(gb, 1)
        if gb < cfg.min_ram_gb * 0.9:
            total += cfg.below_min_ram
            f.add("ram_low", gb=shown, min=cfg.min_ram_gb)
        elif gb < cfg.recommended_ram_gb * 0.9:
            total += cfg.below_recommended_ram
            f.add("ram_below", gb=shown, min=cfg.recommended_ram_gb)
        else:
            f.add("ram", gb=shown)
    for d in facts.disks or []:
        if d.system_disk and d.rotational:
            total += cfg.hdd_system_disk
            f.add("hdd_system", disk=_disk_label(d))
            break
    fs = _system_fs(facts)
    if fs is not None and fs.total_bytes > 0:
        free_gb = fs.free_bytes / GIB
        percent = 100 * fs.free_bytes / fs.total_bytes
        if percent < cfg.low_free_percent or free_gb < cfg.low_free_gb:
            total += cfg.low_free_space
            f.add("free_low", mount=fs.mountpoint, free=round(free_gb, 1), percent=round(percent))
    f.fraction = min(1.0, total)
    return f


def _instability(facts: Facts, cfg: InstabilityConfig, weight: int, today: date) -> Factor:
    f = Factor("instability", weight)
    h = facts.health
    if h is None or (h.unexpected_shutdowns is None and not h.unexpected_shutdown_times):
        f.known = False
        f.add("no_facts", what="health")
        return f
    start = datetime.combine(today - timedelta(days=cfg.window_days), time(0), tzinfo=UTC)
    if h.unexpected_shutdown_times:
        count = sum(1 for t in h.unexpected_shutdown_times if _aware(t) >= start)
        f.add("shutdowns", count=count, days=cfg.window_days)
    else:
        count = h.unexpected_shutdowns or 0
        since = h.evidence_since
        if since is not None and _aware(since) >= start:
            f.add("shutdowns_since", count=count, since=since.strftime("%d/%m/%Y"))
        elif since is not None:
            # Only the total over a longer window is known: scale it to the window.
            days = max(1, (today - since.date()).days)
            f.add("shutdowns_since", count=count, since=since.strftime("%d/%m/%Y"))
            count = round(count * cfg.window_days / days)
        else:
            f.add("shutdowns", count=count, days=cfg.window_days)
    f.fraction = min(1.0, count / cfg.full_at)
    return f


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def score_device(
    facts: Facts,
    *,
    config: ScoringConfig,
    today: date,
    results: dict[str, ResultView] | None = None,
    asset: AssetView | None = None,
    kind: str = DeviceKind.HOST,
) -> ScoreResult:
    """The replacement score of one device from its facts, check results and asset record."""
    results = results or {}
    w = config.weights
    factors = [
        _storage(facts, config.storage, w.storage),
        _os_support(facts, results, config.os_support, w.os_support, today),
        _age(facts, asset, config.age, w.age, today),
        _battery(facts, config.battery, w.battery),
        _adequacy(facts, config.adequacy, w.adequacy),
        _instability(facts, config.instability, w.instability, today),
    ]
    score = max(0, min(100, round(sum(f.points for f in factors))))
    category = config.category_of(score)
    reason = None
    critical = [c for f in factors for c in f.critical]
    if critical and config.critical_means_replace_now and category != ScoreCategory.REPLACE_NOW:
        category = ScoreCategory.REPLACE_NOW
        reason = ", ".join(critical)
    return ScoreResult(
        score=score,
        category=category,
        device_class=device_class_of(facts, kind, asset.device_class if asset else None),
        factors=factors,
        category_reason=reason,
        virtual=is_virtual(facts),
    )


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
    """Score the given devices (default: all); write rows whose inputs changed. Returns rows written."""
    config = config or load_config()
    today = today or local_today()
    if device_ids is None:
        device_ids = list(session.exec(select(Device.id)).all())  # type: ignore[arg-type]
    ids = [i for i in device_ids if i is not None]
    if not ids:
        return 0
    digest = config.digest()
    relevant = _relevant_ids(config)
    written = 0
    for chunk in _chunks(ids):
        devices = {d.id: d for d in session.exec(select(Device).where(col(Device.id).in_(chunk))).all()}
        sections: dict[int, dict[str, Any]] = {i: {} for i in chunk}
        q = select(DeviceSection).where(
            col(DeviceSection.device_id).in_(chunk), col(DeviceSection.section).in_(SECTIONS)
        )
        for row in session.exec(q).all():
            sections[row.device_id][row.section] = row.data
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
        assets = {
            a.device_id: a for a in session.exec(select(Asset).where(col(Asset.device_id).in_(chunk))).all()
        }
        scores = {
            s.device_id: s
            for s in session.exec(select(DeviceScore).where(col(DeviceScore.device_id).in_(chunk))).all()
        }
        now = utcnow()
        for dev_id in chunk:
            device = devices.get(dev_id)
            if device is None:
                continue
            asset = _asset_view(assets.get(dev_id))
            h = _inputs_hash(sections[dev_id], results[dev_id], asset, digest, today)
            row = scores.get(dev_id)
            if row is not None and row.inputs_hash == h:
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
            written += 1
    session.flush()
    return written
