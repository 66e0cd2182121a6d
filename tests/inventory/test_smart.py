"""smartctl JSON: real outputs (tests/fixtures/host/smart, see its README) through parser and runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inventory.host.smart import parse_smartctl, parse_smartctl_text, read_smart

SMART_DIR = Path(__file__).parents[1] / "fixtures" / "host" / "smart"


def load(name: str):
    return parse_smartctl(json.loads((SMART_DIR / name).read_text()))


def raw(facts, attr_id: int) -> int | None:
    return next((a.raw for a in facts.attributes if a.id == attr_id), None)


def test_sata_hdd_with_reallocated_sectors_still_passes_overall() -> None:
    f = load("hdd-reallocated-sectors.json")
    assert f.passed is True and f.protocol == "ata"
    assert raw(f, 5) == 304
    assert [raw(f, i) for i in (187, 188, 197, 198)] == [0, 0, 0, 0]
    assert f.power_on_hours == 44668 and f.temperature_c == 33


def test_failing_hdd_behind_usb_bridge() -> None:
    f = load("hdd-failing-reallocated-pending.json")
    assert f.passed is False and f.exit_status == 216  # a bit mask, not a parse failure
    assert raw(f, 5) == 1975 and raw(f, 197) == 8 and raw(f, 198) == 0
    realloc = next(a for a in f.attributes if a.id == 5)
    assert (realloc.value, realloc.threshold, realloc.when_failed) == (1, 5, "now")


def test_healthy_old_hdd_keeps_its_age() -> None:
    f = load("hdd-healthy-desktop-old.json")
    assert f.passed is True and f.power_on_hours == 109245
    assert [raw(f, i) for i in (5, 197, 198)] == [0, 0, 0]


def test_healthy_nvme() -> None:
    f = load("nvme-healthy.json")
    assert (f.passed, f.protocol, f.nvme_critical_warning, f.percentage_used, f.media_errors) == (
        True,
        "nvme",
        0,
        0,
        0,
    )
    assert f.power_on_hours == 2401 and f.available_spare == 100 and f.attributes == []


def test_nvme_with_critical_warning() -> None:
    f = load("nvme-critical-warning-failed.json")
    assert f.passed is False and f.nvme_critical_warning == 16 and f.exit_status == 8
    assert f.percentage_used == 0 and f.power_on_hours == 18376 and f.temperature_c == 40


def test_worn_nvme() -> None:
    f = load("nvme-high-percentage-used.json")
    assert f.passed is True and f.percentage_used == 75


def test_sata_ssd_wear_from_normalized_values() -> None:
    # 187 is named differently on Samsung; ids, not names, decide.
    healthy = load("ssd-sata-healthy.json")
    assert healthy.life_left_percent == 81 and raw(healthy, 187) == 0
    worn = load("ssd-sata-worn.json")
    assert worn.passed is True and worn.life_left_percent == 15  # raw 0, normalized 15


def test_hdds_have_no_ssd_life_figure() -> None:
    assert load("hdd-reallocated-sectors.json").life_left_percent is None


def test_unreadable_device_is_reported_not_raised() -> None:
    out = {
        "smartctl": {
            "exit_status": 1,
            "messages": [{"string": "/dev/vda: Unable to detect device type", "severity": "error"}],
        }
    }
    f = parse_smartctl(out)
    assert f.available is False and "Unable to detect device type" in (f.error or "")


def test_garbage_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="not JSON"):
        parse_smartctl_text("Segmentation fault")


@pytest.mark.parametrize(
    ("fixture", "passed", "exit_status"),
    [("hdd-failing-reallocated-pending.json", False, 216), ("nvme-healthy.json", True, 0)],
)
def test_runner_accepts_smartctl_bitmask_exit_status(recorded_smartctl, fixture, passed, exit_status) -> None:
    recorded_smartctl(fixture)
    f = read_smart("/dev/sda")
    assert f.available is True and f.passed is passed and f.exit_status == exit_status


def test_runner_without_smartctl_reports_why(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    f = read_smart("/dev/sda")
    assert f.available is False and "smartctl" in (f.error or "")
