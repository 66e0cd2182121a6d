"""Replacement score: each factor on real facts (SMART parsed from recorded smartctl output)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from collector.models.assets import ScoreCategory
from collector.services.scoring import (
    AssetView,
    ResultView,
    ScoringConfigError,
    load_config,
    render_evidence,
    score_device,
)
from inventory.facts import BatteryFacts, Facts, SmartFacts
from inventory.health import HealthFacts
from tests.collector.planning.seed import TODAY, old_security, pc_facts, smart, ubuntu, win10

CONFIG = load_config()


def score(facts: Facts, **kw):  # type: ignore[no-untyped-def]
    return score_device(facts, config=CONFIG, today=TODAY, **kw)


def texts(factor, lang: str = "en") -> list[str]:  # type: ignore[no-untyped-def]
    return [render_evidence(e, lang) for e in factor.evidence]


# ---- storage -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "points", "critical", "words"),
    [
        ("nvme-healthy", 0, [], "no SMART warning"),
        ("ssd-sata-healthy", 0, [], "no SMART warning"),
        ("hdd-healthy-desktop-old", 0, [], "no SMART warning"),
        ("hdd-reallocated-sectors", 21, [], "SMART 5 Reallocated_Sector_Ct raw = 304"),
        (
            "hdd-failing-reallocated-pending",
            35,
            ["overall_failed", "attribute_failing_now", "pending_sectors"],
            "SMART overall health self-assessment FAILED",
        ),
        (
            "nvme-critical-warning-failed",
            35,
            ["overall_failed", "nvme_critical_warning"],
            "NVMe critical warning 16",
        ),
        ("nvme-high-percentage-used", 12.2, [], "75% of rated life used"),
        ("ssd-sata-worn", 20.4, [], "85% of rated life used"),
    ],
)
def test_storage_factor_on_recorded_smartctl_output(fixture, points, critical, words):
    result = score(pc_facts("pc", disk=fixture, rotational=fixture.startswith("hdd")))
    storage = result.factor("storage")
    assert storage.points == points
    assert storage.critical == critical
    assert any(words in t for t in texts(storage)), texts(storage)


def test_failing_disk_means_replace_now_whatever_the_total():
    facts = pc_facts("pc", disk="nvme-critical-warning-failed")  # otherwise a new, healthy PC
    result = score(facts)
    assert result.score < CONFIG.categories.replace_now
    assert result.category == ScoreCategory.REPLACE_NOW
    assert result.category_reason and "nvme_critical_warning" in result.category_reason


def test_windows_storage_reliability_counters_count():
    s = SmartFacts(source="windows-reliability", read_errors_uncorrected=3, health_status="Warning")
    facts = pc_facts("pc", disk=None)
    assert facts.disks is not None
    facts.disks[0].smart = s
    storage = score(facts).factor("storage")
    assert storage.points == 21  # 0.6 of 35
    assert any("3 uncorrected read/write errors" in t for t in texts(storage))


def test_removable_disks_do_not_count():
    facts = pc_facts("pc", disk="nvme-healthy")
    assert facts.disks is not None
    usb = facts.disks[0].model_copy(
        update={"name": "sdb", "removable": True, "smart": smart("hdd-failing-reallocated-pending")}
    )
    facts.disks.append(usb)
    assert score(facts).factor("storage").points == 0


def test_no_smart_data_is_shown_as_not_known():
    storage = score(pc_facts("pc", disk=None)).factor("storage")
    assert storage.known is False and storage.points == 0
    assert texts(storage, "vi") == ["chưa rõ: tác tử chưa gửi dữ liệu SMART ổ cứng"]


# ---- battery -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("full", "points"), [(48, 0), (40, 0), (30, 5.0), (16, 10), (10, 10)])
def test_battery_points_follow_full_charge_over_design(full, points):
    bat = BatteryFacts(name="BAT0", design_capacity_wh=50, full_charge_capacity_wh=full, cycle_count=412)
    result = score(pc_facts("lap", chassis="laptop", batteries=[bat]))
    battery = result.factor("battery")
    assert battery.points == points
    assert f"holds {round(full * 2)}% of its design capacity" in texts(battery)[0]
    assert "412 cycles" in texts(battery)[0]
    assert result.device_class == "laptop"


def test_desktop_without_battery_scores_no_battery_points():
    battery = score(pc_facts("pc")).factor("battery")
    assert battery.points == 0 and texts(battery) == ["no battery (not a laptop)"]


# ---- age ---------------------------------------------------------------------------------------


def test_age_prefers_the_purchase_date():
    asset = AssetView(purchase_date=date(2017, 3, 1))
    age = score(pc_facts("pc", bios_date=date(2022, 1, 1)), asset=asset).factor("age")
    assert age.points == 20  # nine years: the full weight
    assert texts(age, "vi") == ["9 năm tuổi (mua ngày 01/03/2017)"]


def test_age_falls_back_to_the_bios_date_then_the_cpu_launch_year():
    by_bios = score(pc_facts("pc", bios_date=date(2019, 11, 26))).factor("age")
    assert by_bios.points == 12.0 and "BIOS dated 26/11/2019" in texts(by_bios)[0]
    by_cpu = score(pc_facts("pc", bios_date=None, launch_year=2013)).factor("age")
    assert by_cpu.points == 20 and "CPU launched in 2013" in texts(by_cpu)[0]
    unknown = score(pc_facts("pc", bios_date=None, launch_year=None)).factor("age")
    assert unknown.known is False and unknown.points == 0


# ---- OS support --------------------------------------------------------------------------------


def test_windows10_on_hardware_that_cannot_run_windows11_scores_full_os_points():
    facts = pc_facts(
        "pc",
        os=win10(),
        security=old_security(),
        cpu="Intel(R) Core(TM) i5-4590 CPU @ 3.30GHz",
        launch_year=2014,
    )
    os_factor = score(facts).factor("os_support")
    assert os_factor.points == 20
    lines = texts(os_factor)
    assert any("Windows 10 22H2" in t and "end of servicing 2025-10-14" in t for t in lines)
    assert any(t.startswith("cannot run Windows 11") and "TPM: none" in t for t in lines)


def test_windows10_that_can_upgrade_scores_little():
    os_factor = score(pc_facts("pc", os=win10())).factor("os_support")
    assert os_factor.points == 6.0  # 0.3 of 20: upgrade, do not replace
    assert any("can be upgraded to Windows 11" in t for t in texts(os_factor))


def test_check_results_from_the_agent_win_over_computing_from_facts():
    # The agent judged this PC eligible; the facts alone (no TPM fact) could not tell.
    results = {
        "host.os.supported": ResultView(
            "fail", "Windows 10 22H2: end of servicing 2025-10-14", {"days_left": -408}
        ),
        "host.os.windows11-eligible": ResultView("fail", "not eligible for Windows 11: CPU Intel gen 6", {}),
    }
    cfg = CONFIG.model_copy(
        update={
            "os_support": CONFIG.os_support.model_copy(
                update={
                    "supported_check_ids": ["host.os.supported"],
                    "windows11_check_ids": ["host.os.windows11-eligible"],
                }
            )
        }
    )
    facts = pc_facts("pc", os=win10())  # modern security facts: computing would say eligible
    os_factor = score_device(facts, config=cfg, today=TODAY, results=results).factor("os_support")
    assert os_factor.points == 20
    assert "cannot run Windows 11: not eligible for Windows 11: CPU Intel gen 6" in texts(os_factor)


def test_supported_linux_scores_nothing_and_ended_linux_is_upgradable():
    assert score(pc_facts("pc", os=ubuntu("24.04"))).factor("os_support").points == 0
    ended = score(pc_facts("pc", os=ubuntu("18.04"))).factor("os_support")
    assert ended.points == 6.0 and any("upgrade is possible" in t for t in texts(ended))


# ---- adequacy ----------------------------------------------------------------------------------


def test_adequacy_adds_low_ram_hdd_system_disk_and_low_free_space():
    facts = pc_facts("pc", ram_gb=2, disk="hdd-healthy-desktop-old", rotational=True, free_gb=4)
    adequacy = score(facts).factor("adequacy")
    assert adequacy.points == 10  # 0.7 + 0.3 + 0.3, capped at the full weight
    lines = texts(adequacy, "vi")
    assert "bộ nhớ (RAM) chỉ 2 GB (tối thiểu 4 GB)" in lines[0] or "tối thiểu" in lines[0]
    assert any("ổ cứng cơ (HDD)" in t for t in lines)
    assert any("chỉ còn trống 4 GB" in t for t in lines)
    # A decimal is written the Vietnamese way on Vietnamese pages: 4,5 GB, never 4.5 GB.
    half = texts(score(pc_facts("pc", ram_gb=2, free_gb=4.5)).factor("adequacy"), "vi")
    assert any("chỉ còn trống 4,5 GB" in t for t in half) and not any("4.5" in t for t in half)
    english = texts(score(pc_facts("pc", ram_gb=2, free_gb=4.5)).factor("adequacy"), "en")
    assert any("4.5 GB" in t for t in english)
    assert score(pc_facts("pc")).factor("adequacy").points == 0


# ---- instability -------------------------------------------------------------------------------


def test_unexpected_shutdowns_in_the_window_count():
    recent = [datetime(2026, 11, 20, tzinfo=UTC) - timedelta(days=i * 7) for i in range(6)]
    old = [datetime(2025, 1, 1, tzinfo=UTC)]
    facts = pc_facts("pc", shutdowns=None).model_copy(
        update={"health": HealthFacts(unexpected_shutdowns=7, unexpected_shutdown_times=recent + old)}
    )
    inst = score(facts).factor("instability")
    assert inst.points == 3.0  # 6 of full_at 10, weight 5
    assert texts(inst, "vi") == ["6 lần tắt máy đột ngột trong 90 ngày qua"]
    assert score(pc_facts("pc", shutdowns=12)).factor("instability").points == 5


# ---- the whole -------------------------------------------------------------------------------


def test_worn_out_pc_is_replace_now_and_every_factor_explains_itself():
    facts = pc_facts(
        "pc-old",
        os=win10(),
        security=old_security(),
        cpu="Intel(R) Core(TM) i3-2120 CPU @ 3.30GHz",
        launch_year=2011,
        bios_date=date(2012, 1, 1),
        ram_gb=2,
        disk="hdd-reallocated-sectors",
        rotational=True,
        shutdowns=4,
    )
    result = score(facts)
    assert result.score == round(sum(f.points for f in result.factors))
    assert result.score >= CONFIG.categories.replace_now and result.category == ScoreCategory.REPLACE_NOW
    assert [f.name for f in result.factors] == [
        "storage",
        "os_support",
        "age",
        "battery",
        "adequacy",
        "instability",
    ]
    assert all(f.evidence for f in result.factors)


def test_new_pc_is_healthy():
    result = score(pc_facts("pc-new", bios_date=date(2025, 6, 1)))
    assert result.score == 0 and result.category == ScoreCategory.HEALTHY


def test_weights_come_from_an_override_file(tmp_path, monkeypatch):
    path = tmp_path / "scoring.yaml"
    path.write_text("weights: {storage: 50, age: 5}\ncategories: {replace_now: 40}\n", encoding="utf-8")
    monkeypatch.setenv("WARDWATCH_SCORING_CONFIG", str(path))
    cfg = load_config()
    assert cfg.weights.storage == 50 and cfg.weights.age == 5 and cfg.weights.battery == 10
    result = score_device(
        pc_facts("pc", disk="hdd-reallocated-sectors", rotational=True), config=cfg, today=TODAY
    )
    assert result.factor("storage").points == 30.0


def test_a_wrong_override_file_names_the_key(tmp_path):
    path = tmp_path / "scoring.yaml"
    path.write_text("weights: {storage: 500}\n", encoding="utf-8")
    with pytest.raises(ScoringConfigError, match=r"scoring.yaml: weights.storage"):
        load_config(path=path)
