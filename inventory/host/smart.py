"""Disk health from ``smartctl --json`` (smartmontools), shared by the Linux and Windows collectors.

smartctl's exit status is a bit mask (smartctl(8), "RETURN VALUES"), not a plain success flag:
bits 0-1 mean nothing useful was read; bit 2 means some commands failed but the rest is valid;
bits 3-7 report the disk's condition (3: "DISK FAILING", 4: prefail attribute at threshold now,
5: ... in the past, 6: error log has entries, 7: self-test log has errors). Only bits 0-1 make the
output unusable.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from inventory.facts import SmartAttribute, SmartFacts
from inventory.host.commands import CommandError, run, which

log = logging.getLogger(__name__)

EXIT_CMDLINE = 1 << 0
EXIT_OPEN_FAILED = 1 << 1
EXIT_DISK_FAILING = 1 << 3

# Attributes kept in the report: the failure predictors (5, 187, 188, 197, 198 and friends), age,
# temperature and the SSD wear indicators. Keyed on id: names differ between vendors.
KEPT_ATTRIBUTES = frozenset({5, 9, 10, 169, 177, 184, 187, 188, 194, 196, 197, 198, 199, 202, 231, 233})
# Attributes whose normalized value is the SSD's remaining rated life in percent, when the name
# says so (177 is Wear_Leveling_Count on Samsung, something else elsewhere).
_WEAR_IDS = frozenset({169, 177, 202, 231, 233})
_WEAR_WORDS = ("wear", "life", "lifetime")


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    return None


def _messages(data: dict[str, Any]) -> str:
    msgs = (data.get("smartctl") or {}).get("messages") or []
    return "; ".join(str(m.get("string", "")).strip() for m in msgs if isinstance(m, dict))[:300]


def _ata_attributes(data: dict[str, Any]) -> list[SmartAttribute]:
    table = (data.get("ata_smart_attributes") or {}).get("table") or []
    out: list[SmartAttribute] = []
    for row in table:
        attr_id = _int(row.get("id"))
        if attr_id is None or attr_id not in KEPT_ATTRIBUTES:
            continue
        raw = _int((row.get("raw") or {}).get("value"))
        out.append(
            SmartAttribute(
                id=attr_id,
                name=str(row.get("name", "")),
                raw=raw if raw is not None else 0,
                value=_int(row.get("value")),
                worst=_int(row.get("worst")),
                threshold=_int(row.get("thresh")),
                when_failed=(row.get("when_failed") or None),
            )
        )
    return out


def _life_left(attributes: list[SmartAttribute], rotation_rate: Any) -> int | None:
    if rotation_rate not in (0, None) or not attributes:
        return None
    values = [
        a.value
        for a in attributes
        if a.id in _WEAR_IDS and a.value is not None and any(w in a.name.lower() for w in _WEAR_WORDS)
    ]
    return min(100, min(values)) if values else None


def parse_smartctl(data: dict[str, Any]) -> SmartFacts:
    """Turn one ``smartctl --json -a`` document into :class:`SmartFacts`."""
    if not isinstance(data, dict):
        raise ValueError("smartctl JSON: expected an object at the top level")
    exit_status = _int((data.get("smartctl") or {}).get("exit_status"))
    device = data.get("device") or {}
    protocol = str(device.get("protocol") or "").lower() or None
    if exit_status is not None and exit_status & (EXIT_CMDLINE | EXIT_OPEN_FAILED):
        return SmartFacts(
            available=False,
            source="smartctl",
            protocol=protocol,
            exit_status=exit_status,
            error=_messages(data) or f"smartctl exit status {exit_status}: device not readable",
        )
    status = data.get("smart_status") or {}
    passed = status.get("passed") if isinstance(status.get("passed"), bool) else None
    if passed is None and exit_status is not None and exit_status & EXIT_DISK_FAILING:
        passed = False
    support = data.get("smart_support") or {}
    facts = SmartFacts(
        available=support.get("available", True) is not False,
        passed=passed,
        source="smartctl",
        protocol=protocol,
        exit_status=exit_status,
        power_on_hours=_int((data.get("power_on_time") or {}).get("hours")),
        temperature_c=_int((data.get("temperature") or {}).get("current")),
    )
    nvme = data.get("nvme_smart_health_information_log")
    if isinstance(nvme, dict):
        facts.nvme_critical_warning = _int(nvme.get("critical_warning"))
        facts.percentage_used = _int(nvme.get("percentage_used"))
        facts.media_errors = _int(nvme.get("media_errors"))
        facts.available_spare = _int(nvme.get("available_spare"))
        facts.unsafe_shutdowns = _int(nvme.get("unsafe_shutdowns"))
        if facts.power_on_hours is None:
            facts.power_on_hours = _int(nvme.get("power_on_hours"))
        if facts.temperature_c is None:
            facts.temperature_c = _int(nvme.get("temperature"))
    else:
        facts.attributes = _ata_attributes(data)
        facts.life_left_percent = _life_left(facts.attributes, data.get("rotation_rate"))
    if not facts.available:
        facts.error = _messages(data) or "SMART not supported by the device"
    return facts


def parse_smartctl_text(text: str) -> SmartFacts:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"smartctl output is not JSON: {exc}") from exc
    return parse_smartctl(data)


def smartctl_available() -> bool:
    return which("smartctl") is not None


def read_smart(device: str, *, timeout: float = 15.0) -> SmartFacts:
    """Ask smartctl about ``device`` (e.g. /dev/sda, /dev/nvme0n1, on Windows /dev/sda or /dev/pd0).

    ``--nocheck=standby`` keeps a sleeping hard disk asleep: smartctl then exits with bit 1 set and
    the disk is reported as not readable this time rather than spun up.
    """
    try:
        out = run(["smartctl", "--json", "-a", "--nocheck=standby", device], timeout=timeout, ok_codes=None)
    except CommandError as exc:
        return SmartFacts(available=False, source="smartctl", error=str(exc))
    if not out.stdout.strip():
        return SmartFacts(
            available=False,
            source="smartctl",
            exit_status=out.returncode,
            error=f"smartctl printed nothing (exit status {out.returncode})",
        )
    try:
        return parse_smartctl_text(out.stdout)
    except ValueError as exc:
        return SmartFacts(available=False, source="smartctl", exit_status=out.returncode, error=str(exc))
