"""Evidence and labels of the replacement score, in Vietnamese and English.

Evidence is stored as a code with parameters and rendered in the reader's language when shown.
"""

from __future__ import annotations

from typing import Any

from collector.i18n import N_, format_number, translator
from collector.models.assets import ScoreCategory

# Every evidence line is a code with parameters, rendered in the reader's language.
MESSAGES: dict[str, str] = {
    "no_facts": N_("not known: the agent did not report {what}"),
    "disk_overall_failed": N_("{disk}: SMART overall health self-assessment FAILED"),
    "disk_nvme_critical": N_("{disk}: NVMe critical warning {value}"),
    "disk_attr_failing": N_("{disk}: SMART attribute {id} {name} at or below its threshold ({when})"),
    "disk_predict_failure": N_("{disk}: the disk predicts its own failure"),
    "disk_health_status": N_("{disk}: Windows reports the disk {value}"),
    "disk_attr_raw": N_("{disk}: SMART {id} {name} raw = {value}"),
    "disk_media_errors": N_("{disk}: {value} NVMe media errors"),
    "disk_io_errors": N_("{disk}: {value} uncorrected read/write errors"),
    "disk_wear": N_("{disk}: {value}% of rated life used"),
    "disk_ok": N_("{disk}: no SMART warning"),
    "disk_unreadable": N_("{disk}: SMART not readable ({why})"),
    "battery_ratio": N_(
        "{name}: holds {percent}% of its design capacity ({full} of {design} Wh, {cycles} cycles)"
    ),
    "no_battery": N_("no battery (not a laptop)"),
    "age_purchase": N_("{years} years old (purchased {date})"),
    "age_bios": N_("about {years} years old (BIOS dated {date}; no purchase date recorded)"),
    "age_cpu": N_("about {years} years old (CPU launched in {year}; no purchase date recorded)"),
    "os_ended": N_("{text}"),
    "os_supported": N_("{text}"),
    "os_unknown": N_("OS support not known: {text}"),
    "win11_no": N_("cannot run Windows 11: {text}"),
    "win11_yes": N_("can be upgraded to Windows 11: {text}"),
    "win11_unknown": N_("Windows 11 eligibility not known: {text}"),
    "os_upgrade_possible": N_("out of support, but an upgrade is possible"),
    "os_no_upgrade": N_("out of support and the hardware cannot run a supported version"),
    "os_ending_no_upgrade": N_("support ends within {days} days and the hardware cannot run Windows 11"),
    "ram": N_("{gb} GB of RAM"),
    "ram_low": N_("only {gb} GB of RAM (minimum {min} GB)"),
    "ram_below": N_("{gb} GB of RAM (recommended {min} GB)"),
    "hdd_system": N_("the system disk {disk} is a hard disk (HDD)"),
    "free_low": N_("{mount}: only {free} GB free ({percent}%)"),
    "shutdowns": N_("{count} unexpected shutdowns in the last {days} days"),
    "shutdowns_since": N_("{count} unexpected shutdowns since {since}"),
    "critical": N_("replace now: {what}"),
}

FACTOR_LABELS: dict[str, str] = {
    "storage": N_("Storage health"),
    "os_support": N_("OS support"),
    "age": N_("score factor: Age"),
    "battery": N_("Battery health"),
    "adequacy": N_("Adequacy"),
    "instability": N_("Instability"),
}

CATEGORY_LABELS: dict[str, str] = {
    ScoreCategory.REPLACE_NOW: N_("replace now"),
    ScoreCategory.PLAN_12_MONTHS: N_("plan within 12 months"),
    ScoreCategory.MONITOR: N_("monitor"),
    ScoreCategory.HEALTHY: N_("healthy"),
}

WHAT_LABELS: dict[str, str] = {
    "disks": N_("disk SMART data"),
    "os": N_("the operating system"),
    "age": N_("a purchase date, BIOS date or CPU model"),
    "memory": N_("memory, disks and free space"),
    "health": N_("shutdown records"),
}


def render_evidence(item: dict[str, Any], lang: str = "vi") -> str:
    """One evidence line in ``lang`` (vi or en)."""
    _ = translator(lang)
    pair = MESSAGES.get(item.get("code", ""))
    params = dict(item.get("params") or {})
    # Decimals as the language writes them: 18,5 Wh in Vietnamese.
    params = {k: _decimal(v, lang) if isinstance(v, float) else v for k, v in params.items()}
    if params.get("what") in WHAT_LABELS:
        params["what"] = _(WHAT_LABELS[params["what"]])
    if pair is None:
        return str(item.get("text") or item.get("code", ""))
    try:
        return _(pair).format(**params)
    except (KeyError, IndexError, ValueError):
        return pair.format_map(_Missing(params))


def _decimal(value: float, lang: str) -> str:
    return format_number(value, lang)


class _Missing(dict):
    def __missing__(self, key: str) -> str:
        return "?"


def factor_label(name: str, lang: str = "vi") -> str:
    return translator(lang)(FACTOR_LABELS[name]) if name in FACTOR_LABELS else name


def category_label(category: str, lang: str = "vi") -> str:
    return translator(lang)(CATEGORY_LABELS[category]) if category in CATEGORY_LABELS else category
