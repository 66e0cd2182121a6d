"""Replacement priority (DESIGN §8): an explainable 0-100 score per device.

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
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlmodel import Session, col, select

from collector.models.assets import Asset, DeviceClass, DeviceScore, LifecycleStatus, ScoreCategory
from collector.models.core import Device, DeviceKind, DeviceResult, DeviceSection
from collector.models.types import utcnow
from inventory.facts import Facts

log = logging.getLogger(__name__)

CONFIG_ENV = "WARDWATCH_SCORING_CONFIG"
FACTORS = ("storage", "os_support", "age", "battery", "adequacy", "instability")
# Fact sections a score reads; a report changing none of them leaves the score as it is.
SECTIONS = ("system", "os", "cpu", "memory", "disks", "filesystems", "batteries", "security", "health")
GIB = 1024**3


# ---- configuration ----------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Weights(_Strict):
    storage: int = Field(35, ge=0, le=100)
    os_support: int = Field(20, ge=0, le=100)
    age: int = Field(20, ge=0, le=100)
    battery: int = Field(10, ge=0, le=100)
    adequacy: int = Field(10, ge=0, le=100)
    instability: int = Field(5, ge=0, le=100)


class Thresholds(_Strict):
    replace_now: int = Field(60, ge=0, le=100)
    plan_12_months: int = Field(35, ge=0, le=100)
    monitor: int = Field(15, ge=0, le=100)


Fraction = Field(ge=0, le=1)


class StorageConfig(_Strict):
    overall_failed: float = Field(1.0, ge=0, le=1)
    nvme_critical_warning: float = Field(1.0, ge=0, le=1)
    attribute_failing_now: float = Field(1.0, ge=0, le=1)
    predict_failure: float = Field(1.0, ge=0, le=1)
    health_unhealthy: float = Field(1.0, ge=0, le=1)
    pending_sectors: float = Field(0.8, ge=0, le=1)
    offline_uncorrectable: float = Field(0.8, ge=0, le=1)
    media_errors: float = Field(0.8, ge=0, le=1)
    reallocated_sectors: float = Field(0.6, ge=0, le=1)
    reported_uncorrectable: float = Field(0.6, ge=0, le=1)
    uncorrected_io_errors: float = Field(0.6, ge=0, le=1)
    health_warning: float = Field(0.6, ge=0, le=1)
    command_timeouts: float = Field(0.3, ge=0, le=1)
    wear_start: int = Field(60, ge=0, le=100)
    wear_full: int = Field(90, ge=1, le=200)
    wear_fraction: float = Field(0.7, ge=0, le=1)
    critical: list[str] = Field(
        default_factory=lambda: [
            "overall_failed",
            "nvme_critical_warning",
            "attribute_failing_now",
            "predict_failure",
            "health_unhealthy",
            "pending_sectors",
            "offline_uncorrectable",
            "media_errors",
        ]
    )


class OsSupportConfig(_Strict):
    out_of_support_not_eligible: float = Field(1.0, ge=0, le=1)
    out_of_support_unknown: float = Field(0.6, ge=0, le=1)
    out_of_support_upgradable: float = Field(0.3, ge=0, le=1)
    ending_soon_not_eligible: float = Field(0.5, ge=0, le=1)
    ending_soon_days: int = Field(365, ge=0)
    supported_check_ids: list[str] = Field(default_factory=list)
    windows11_check_ids: list[str] = Field(default_factory=list)


class AgeConfig(_Strict):
    start_years: float = Field(4, ge=0)
    full_years: float = Field(9, gt=0)


class BatteryConfig(_Strict):
    good_ratio: float = Field(0.8, gt=0, le=1.5)
    worn_ratio: float = Field(0.4, ge=0, le=1.5)


class AdequacyConfig(_Strict):
    min_ram_gb: float = Field(4, gt=0)
    recommended_ram_gb: float = Field(8, gt=0)
    below_min_ram: float = Field(0.7, ge=0, le=1)
    below_recommended_ram: float = Field(0.3, ge=0, le=1)
    hdd_system_disk: float = Field(0.3, ge=0, le=1)
    low_free_percent: float = Field(10, ge=0, le=100)
    low_free_gb: float = Field(10, ge=0)
    low_free_space: float = Field(0.3, ge=0, le=1)


class InstabilityConfig(_Strict):
    window_days: int = Field(90, ge=1)
    full_at: int = Field(10, ge=1)


class PlanDefaults(_Strict):
    min_score: int = Field(15, ge=0, le=100)
    must_replace: list[str] = Field(default_factory=lambda: ["lifecycle_to_replace", "storage_failed"])


class ScoringConfig(_Strict):
    weights: Weights = Field(default_factory=Weights)
    categories: Thresholds = Field(default_factory=Thresholds)
    critical_means_replace_now: bool = True
    storage: StorageConfig = Field(default_factory=StorageConfig)
    os_support: OsSupportConfig = Field(default_factory=OsSupportConfig)
    age: AgeConfig = Field(default_factory=AgeConfig)
    battery: BatteryConfig = Field(default_factory=BatteryConfig)
    adequacy: AdequacyConfig = Field(default_factory=AdequacyConfig)
    instability: InstabilityConfig = Field(default_factory=InstabilityConfig)
    unit_costs: dict[str, int] = Field(
        default_factory=lambda: {
            "desktop": 15_000_000,
            "laptop": 18_000_000,
            "server": 90_000_000,
            "network_device": 12_000_000,
            "other": 15_000_000,
        }
    )
    plan: PlanDefaults = Field(default_factory=PlanDefaults)

    def digest(self) -> str:
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:16]

    def category_of(self, score: int) -> ScoreCategory:
        c = self.categories
        if score >= c.replace_now:
            return ScoreCategory.REPLACE_NOW
        if score >= c.plan_12_months:
            return ScoreCategory.PLAN_12_MONTHS
        if score >= c.monitor:
            return ScoreCategory.MONITOR
        return ScoreCategory.HEALTHY


class ScoringConfigError(ValueError):
    """The scoring configuration file is unreadable or wrong; the message names the file and key."""


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        out[key] = (
            _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
        )
    return out


def _read_yaml(text: str, where: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ScoringConfigError(f"{where}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ScoringConfigError(f"{where}: expected a mapping at the top level")
    return data


def shipped_config_text() -> str:
    return (resources.files("collector.data") / "scoring.yaml").read_text(encoding="utf-8")


@cache
def _load(path: str | None, mtime: float | None) -> ScoringConfig:
    data = _read_yaml(shipped_config_text(), "collector/data/scoring.yaml")
    where = "collector/data/scoring.yaml"
    if path:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ScoringConfigError(f"scoring config {path}: cannot read it: {exc}") from exc
        # Unit costs replace the shipped table whole: a class left out has no default price then.
        data = _merge(data, _read_yaml(text, path))
        where = path
    try:
        return ScoringConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first.get("loc", ()))
        raise ScoringConfigError(f"{where}: {loc}: {first.get('msg')}") from exc


def load_config(settings: Any = None, path: str | Path | None = None) -> ScoringConfig:
    """The scoring configuration: the shipped file, overridden by ``path``, the settings'
    ``scoring_config`` or ``$WARDWATCH_SCORING_CONFIG`` (first given wins)."""
    chosen = path or getattr(settings, "scoring_config", None) or os.environ.get(CONFIG_ENV) or None
    mtime = None
    if chosen:
        try:
            mtime = Path(chosen).stat().st_mtime  # an edited file is read again
        except OSError:
            mtime = None
    return _load(str(chosen) if chosen else None, mtime)


# ---- evidence ----------------------------------------------------------------------------------

# Every evidence line is a code with parameters, rendered in the reader's language.
MESSAGES: dict[str, tuple[str, str]] = {
    "no_facts": ("not known: the agent did not report {what}", "chưa rõ: tác tử chưa gửi {what}"),
    "disk_overall_failed": (
        "{disk}: SMART overall health self-assessment FAILED",
        "{disk}: SMART tự đánh giá tình trạng: HỎNG",
    ),
    "disk_nvme_critical": (
        "{disk}: NVMe critical warning {value}",
        "{disk}: cảnh báo nghiêm trọng NVMe {value}",
    ),
    "disk_attr_failing": (
        "{disk}: SMART attribute {id} {name} at or below its threshold ({when})",
        "{disk}: thuộc tính SMART {id} {name} đã chạm ngưỡng hỏng ({when})",
    ),
    "disk_predict_failure": ("{disk}: the disk predicts its own failure", "{disk}: ổ cứng tự báo sắp hỏng"),
    "disk_health_status": ("{disk}: Windows reports the disk {value}", "{disk}: Windows báo ổ cứng {value}"),
    "disk_attr_raw": (
        "{disk}: SMART {id} {name} raw = {value}",
        "{disk}: SMART {id} {name} giá trị thô = {value}",
    ),
    "disk_media_errors": ("{disk}: {value} NVMe media errors", "{disk}: {value} lỗi phương tiện NVMe"),
    "disk_io_errors": (
        "{disk}: {value} uncorrected read/write errors",
        "{disk}: {value} lỗi đọc/ghi không sửa được",
    ),
    "disk_wear": ("{disk}: {value}% of rated life used", "{disk}: đã dùng {value}% tuổi thọ định mức"),
    "disk_ok": ("{disk}: no SMART warning", "{disk}: SMART không có cảnh báo"),
    "disk_unreadable": ("{disk}: SMART not readable ({why})", "{disk}: không đọc được SMART ({why})"),
    "battery_ratio": (
        "{name}: holds {percent}% of its design capacity ({full} of {design} Wh, {cycles} cycles)",
        "{name}: pin còn {percent}% dung lượng thiết kế ({full}/{design} Wh, {cycles} lần sạc)",
    ),
    "no_battery": ("no battery (not a laptop)", "không có pin (không phải máy xách tay)"),
    "age_purchase": (
        "{years} years old (purchased {date})",
        "{years} năm tuổi (mua ngày {date})",
    ),
    "age_bios": (
        "about {years} years old (BIOS dated {date}; no purchase date recorded)",
        "khoảng {years} năm tuổi (BIOS ngày {date}; chưa có ngày mua)",
    ),
    "age_cpu": (
        "about {years} years old (CPU launched in {year}; no purchase date recorded)",
        "khoảng {years} năm tuổi (CPU ra mắt năm {year}; chưa có ngày mua)",
    ),
    "os_ended": ("{text}", "{text}"),
    "os_supported": ("{text}", "{text}"),
    "os_unknown": ("OS support not known: {text}", "chưa rõ thời hạn hỗ trợ hệ điều hành: {text}"),
    "win11_no": ("cannot run Windows 11: {text}", "không đáp ứng yêu cầu Windows 11: {text}"),
    "win11_yes": ("can be upgraded to Windows 11: {text}", "có thể nâng cấp lên Windows 11: {text}"),
    "win11_unknown": ("Windows 11 eligibility not known: {text}", "chưa rõ khả năng lên Windows 11: {text}"),
    "os_upgrade_possible": (
        "out of support, but an upgrade is possible",
        "hết hỗ trợ nhưng có thể nâng cấp hệ điều hành",
    ),
    "os_no_upgrade": (
        "out of support and the hardware cannot run a supported version",
        "hết hỗ trợ và phần cứng không chạy được phiên bản còn hỗ trợ",
    ),
    "os_ending_no_upgrade": (
        "support ends within {days} days and the hardware cannot run Windows 11",
        "hết hỗ trợ trong {days} ngày tới và phần cứng không chạy được Windows 11",
    ),
    "ram": ("{gb} GB of RAM", "bộ nhớ (RAM) {gb} GB"),
    "ram_low": ("only {gb} GB of RAM (minimum {min} GB)", "bộ nhớ (RAM) chỉ {gb} GB (tối thiểu {min} GB)"),
    "ram_below": (
        "{gb} GB of RAM (recommended {min} GB)",
        "bộ nhớ (RAM) {gb} GB (khuyến nghị {min} GB)",
    ),
    "hdd_system": ("the system disk {disk} is a hard disk (HDD)", "ổ hệ thống {disk} là ổ cứng cơ (HDD)"),
    "free_low": (
        "{mount}: only {free} GB free ({percent}%)",
        "{mount}: chỉ còn trống {free} GB ({percent}%)",
    ),
    "shutdowns": (
        "{count} unexpected shutdowns in the last {days} days",
        "{count} lần tắt máy đột ngột trong {days} ngày qua",
    ),
    "shutdowns_since": (
        "{count} unexpected shutdowns since {since}",
        "{count} lần tắt máy đột ngột kể từ {since}",
    ),
    "critical": (
        "replace now: {what}",
        "thay thế ngay: {what}",
    ),
}

FACTOR_LABELS: dict[str, tuple[str, str]] = {
    "storage": ("Storage health", "Tình trạng ổ cứng"),
    "os_support": ("OS support", "Hỗ trợ hệ điều hành"),
    "age": ("Age", "Tuổi thiết bị"),
    "battery": ("Battery health", "Tình trạng pin"),
    "adequacy": ("Adequacy", "Cấu hình đáp ứng"),
    "instability": ("Instability", "Độ ổn định"),
}

CATEGORY_LABELS: dict[str, tuple[str, str]] = {
    ScoreCategory.REPLACE_NOW: ("replace now", "thay thế ngay"),
    ScoreCategory.PLAN_12_MONTHS: ("plan within 12 months", "thay thế trong 12 tháng"),
    ScoreCategory.MONITOR: ("monitor", "theo dõi"),
    ScoreCategory.HEALTHY: ("healthy", "tốt"),
}

WHAT_LABELS: dict[str, tuple[str, str]] = {
    "disks": ("disk SMART data", "dữ liệu SMART ổ cứng"),
    "os": ("the operating system", "hệ điều hành"),
    "age": ("a purchase date, BIOS date or CPU model", "ngày mua, ngày BIOS hay mẫu CPU"),
    "memory": ("memory, disks and free space", "bộ nhớ, ổ cứng và dung lượng trống"),
    "health": ("shutdown records", "nhật ký tắt máy"),
}


def _idx(lang: str) -> int:
    return 1 if lang == "vi" else 0


def render_evidence(item: dict[str, Any], lang: str = "vi") -> str:
    """One evidence line in ``lang`` (vi or en)."""
    pair = MESSAGES.get(item.get("code", ""))
    params = dict(item.get("params") or {})
    if params.get("what") in WHAT_LABELS:
        params["what"] = WHAT_LABELS[params["what"]][_idx(lang)]
    if pair is None:
        return str(item.get("text") or item.get("code", ""))
    try:
        return pair[_idx(lang)].format(**params)
    except (KeyError, IndexError, ValueError):
        return pair[0].format_map(_Missing(params))


class _Missing(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return "?"


def factor_label(name: str, lang: str = "vi") -> str:
    return FACTOR_LABELS.get(name, (name, name))[_idx(lang)]


def category_label(category: str, lang: str = "vi") -> str:
    return CATEGORY_LABELS.get(category, (category, category))[_idx(lang)]


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
    today = today or datetime.now(UTC).date()
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
