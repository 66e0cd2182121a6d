"""The scoring configuration: weights, thresholds, unit costs and plan defaults.

The shipped ``collector/data/scoring.yaml`` holds the defaults; a file named by the settings'
``scoring_config`` or ``$WARDWATCH_SCORING_CONFIG`` overrides any part of it.
"""

from __future__ import annotations

import hashlib
import os
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from collector.models.assets import ScoreCategory

CONFIG_ENV = "WARDWATCH_SCORING_CONFIG"


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
