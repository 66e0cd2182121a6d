"""Evidence as a message id and parameters, rendered in the reader's language.

A Vietnamese official reading a finding saw "78 security update(s) not installed": the agent wrote English.
Now the evaluator sends a message (id + params) beside the English text; the collector keeps it and renders
it when the page is shown; evidence stored as English before (or sent by an old agent) goes through the
compatibility map.
"""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import select

from checks.catalog import load_catalog
from checks.runner import run_check
from collector.db import session_scope
from collector.i18n import evidence_text, render_message
from collector.i18n.messages import from_english
from collector.models.findings import Finding
from inventory.facts import Facts
from inventory.report import CheckResult, CheckStatus
from tests.helpers import enroll, host_report, post_report, seed_site


def _updates_facts(pending: int, total: int | None = None) -> Facts:
    updates: dict[str, object] = {"pending_security": pending}
    if total is not None:
        updates["pending_total"] = total
    return Facts.model_validate({"security": {"updates": updates}})


def test_an_evaluator_sends_a_message_and_the_same_english_as_before() -> None:
    check = load_catalog()["host.updates.no_pending_security"]
    (result,) = run_check(check, _updates_facts(1234, 1500))
    assert result.status == CheckStatus.FAIL
    # Old collectors read ``evidence``: unchanged English.
    assert result.evidence == "1234 security update(s) not installed of 1500 pending"
    assert result.message is not None
    assert result.message.id == "%(n)s security update(s) not installed of %(total)s pending"
    assert result.message.params == {"n": 1234, "total": 1500}
    # What cannot be observed is a message too (the fact path is data).
    (unseen,) = run_check(check, Facts.model_validate({"security": {"updates": {"pending_total": 2}}}))
    assert unseen.status == CheckStatus.UNKNOWN and unseen.message is not None
    assert render_message(unseen.message.model_dump(), "vi").startswith("không quan sát được: ")


def test_a_message_renders_in_each_language_with_its_numbers_and_dates() -> None:
    message = {
        "id": "%(n)s security update(s) not installed of %(total)s pending",
        "params": {"n": 1234, "total": 1500},
    }
    assert (
        render_message(message, "vi")
        == "1.234 bản vá bảo mật chưa được cài đặt (trong 1.500 bản cập nhật đang chờ)"
    )
    assert render_message(message, "en") == "1,234 security update(s) not installed of 1,500 pending"
    dated = {
        "id": "%(product)s signatures updated %(date)s, %(days)s days ago (limit %(limit)s)",
        "params": {"product": "Windows Defender", "date": "2026-11-02", "days": 33, "limit": 7},
    }
    assert render_message(dated, "vi") == (
        "mẫu nhận diện của Windows Defender cập nhật ngày 02/11/2026, cách đây 33 ngày (giới hạn 7)"
    )
    assert (
        render_message(dated, "en") == "Windows Defender signatures updated 2026-11-02, 33 days ago (limit 7)"
    )


def test_english_evidence_stored_before_messages_is_mapped_back() -> None:
    assert (
        evidence_text("78 security update(s) not installed", None, "vi")
        == "78 bản vá bảo mật chưa được cài đặt"
    )
    assert (
        evidence_text("no anti-malware product found", None, "vi")
        == "không tìm thấy phần mềm phòng chống mã độc"
    )
    assert (
        evidence_text("automatic updates off (automatic updates)", None, "vi") == "cập nhật tự động đang tắt"
    )
    # Decimals and percent signs of the old text: numbers again, written the Vietnamese way.
    assert evidence_text("/: 87% used, 12.5 GB free of 100.0 GB (limit 90%)", None, "vi") == (
        "/: đã dùng 87%, còn trống 12,5 GB trên 100 GB (giới hạn 90%)"
    )
    old = from_english("real-time protection off: Windows Defender, Kaspersky")
    assert old is not None and old.params == {"products": "Windows Defender, Kaspersky"}
    # Evidence no message describes (an OS error text, a check of another version) is shown as it is.
    assert evidence_text("Access is denied. (0x80070005)", None, "vi") == "Access is denied. (0x80070005)"
    assert evidence_text("Access is denied. (0x80070005)", None, "en") == "Access is denied. (0x80070005)"


def test_every_evidence_message_is_translated_and_keeps_its_placeholders() -> None:
    from collector.i18n import catalog
    from collector.i18n.compat import evidence_msgids

    vi = catalog("vi")
    assert len(evidence_msgids()) >= 20
    for msgid in evidence_msgids():
        assert vi.get(msgid), f"no Vietnamese for evidence {msgid!r}"
        assert sorted(re.findall(r"%\(\w+\)s", msgid)) == sorted(re.findall(r"%\(\w+\)s", vi[msgid])), msgid


def test_the_finding_page_shows_the_evidence_in_the_readers_language(client, app) -> None:  # type: ignore[no-untyped-def]
    from tests.collector.web.support import login

    agent = enroll(client, seed_site(app.state.engine, "P01"), "pc-ketoan")
    check = load_catalog()["host.updates.no_pending_security"]
    (new_agent,) = run_check(check, _updates_facts(78))
    # An old agent: English only, no message.
    old_agent = CheckResult(
        check_id="host.antivirus.present", status=CheckStatus.FAIL, evidence="no anti-malware product found"
    )
    r = post_report(client, agent, host_report(agent.agent_id, results=[new_agent, old_agent]))
    assert r.status_code == 202, r.text
    with session_scope(app.state.engine) as session:
        rows = {f.check_id: (f.id, f.evidence_message) for f in session.exec(select(Finding))}
    assert rows["host.updates.no_pending_security"][1] == {
        "id": "%(n)s security update(s) not installed",
        "params": {"n": 78},
    }
    assert rows["host.antivirus.present"][1] is None
    from collector.services.users import create_user

    with session_scope(app.state.engine) as session:
        create_user(
            session, username="chuyenvien", password="mat-khau-du-dai-12", role="admin", site_codes=[]
        )
    assert login(client, "chuyenvien", "mat-khau-du-dai-12").status_code == 303
    for check_id, vi, en in (
        (
            "host.updates.no_pending_security",
            "78 bản vá bảo mật chưa được cài đặt",
            "78 security update(s) not installed",
        ),
        (
            "host.antivirus.present",
            "không tìm thấy phần mềm phòng chống mã độc",
            "no anti-malware product found",
        ),
    ):
        page = client.get(f"/findings/{rows[check_id][0]}?lang=vi").text
        assert vi in page and en not in page
        page = client.get(f"/findings/{rows[check_id][0]}?lang=en").text
        assert en in page and vi not in page
    listing = client.get("/findings?lang=vi").text
    assert "78 bản vá bảo mật chưa được cài đặt" in listing and "no anti-malware product found" not in listing


# Evaluators whose every sentence is a message (host_antivirus, host_updates, ... were converted before).
CONVERTED = (
    "host_os",
    "host_password",
    "host_time",
    "host_remote",
    "host_platform",
    "host_disk",
    "host_firewall",
    "changes",
    "netdevice",
    "lan",
    "certificates",
)


def test_every_result_of_the_converted_evaluators_reads_in_vietnamese() -> None:
    from collector.i18n import catalog
    from tests.checks.support import CASES, DEFAULT_NOW

    vi = catalog("vi")
    seen = 0
    for module, case in CASES:
        if module not in CONVERTED:
            continue
        for r in run_check(case.definition(), Facts.model_validate(case.facts), now=case.now or DEFAULT_NOW):
            if r.status == CheckStatus.ERROR:
                continue  # an evaluator crash: the exception text, not a sentence of ours
            where = f"{module}: {case.name}: {r.evidence!r}"
            assert r.message is not None, f"plain English evidence: {where}"
            assert vi.get(r.message.id), f"no Vietnamese for {r.message.id!r} ({where})"
            shown = render_message(r.message.model_dump(), "vi")
            if vi[r.message.id] != r.message.id:
                assert shown != r.evidence, where
            # The same evidence stored as English by an older agent reads the same in Vietnamese.
            assert evidence_text(r.evidence, None, "vi") == shown, where
            seen += 1
    assert seen >= 60


def test_words_the_evaluators_fill_in_are_translated_too() -> None:
    from checks.catalog import load_catalog

    firewall = load_catalog()["host.firewall.enabled"]
    (off,) = run_check(firewall, Facts.model_validate({"security": {"firewall": {"enabled": False}}}))
    assert off.evidence == "no host firewall is filtering inbound traffic (host firewall off)"
    assert off.message is not None
    assert "tường lửa của máy" in render_message(off.message.model_dump(), "vi")
    assert "host firewall" not in render_message(off.message.model_dump(), "vi")
    # The same for the words a network-device check names in its YAML ("telnet management").
    for check in load_catalog().values():
        what = check.params.get("what")
        if isinstance(what, str):
            from collector.i18n import catalog

            assert catalog("vi").get(what), f"{check.id}: no Vietnamese for {what!r}"


def _case(name: str) -> tuple[Any, dict[str, Any]]:
    import copy

    from tests.checks.test_check_cases import CASES

    case = next(c for _m, c in CASES if c.name == name)
    return case.definition(), copy.deepcopy(case.facts)


def _both(definition: Any, facts: dict[str, Any]) -> tuple[str, str, str]:
    """(English evidence, Vietnamese shown from the message, Vietnamese shown from the English alone)."""
    from tests.checks.test_check_cases import DEFAULT_NOW

    (r,) = run_check(definition, Facts.model_validate(facts), now=DEFAULT_NOW)
    assert r.message is not None
    return r.evidence, render_message(r.message.model_dump(), "vi"), evidence_text(r.evidence, None, "vi")


def test_the_words_an_evaluator_fills_into_evidence_read_in_vietnamese() -> None:
    """Firmware reasons, Windows 11 criteria, idle timeouts, revocation states and unknown MAC vendors
    are terms rendered when shown: English evidence unchanged, Vietnamese from the catalogs, and old
    English evidence reads the same."""
    # A firmware rule's reason (English in firmware_min.yaml, Vietnamese in evidence_terms.po).
    check, facts = _case("RouterOS 6.48.6 is older than 6.49.10")
    en, vi, old = _both(check, facts)
    assert en.endswith("has the admin-to-root flaw CVE-2023-30799 and older Winbox flaws.")
    assert vi == old and vi.endswith("có lỗ hổng CVE-2023-30799 và các lỗ hổng Winbox cũ.")
    assert "flaw" not in vi
    # Windows 11 criteria: words translated, data (CPU model, series) untouched, numbers the Vietnamese way.
    check, facts = _case("first-generation Ryzen is not eligible")
    en, vi, old = _both(check, facts)
    assert en.endswith("(Ryzen 1000 series)")
    assert vi == old and vi.endswith("CPU AMD Ryzen 7 1700 Eight-Core Processor (Ryzen dòng 1000)")
    check, facts = _case("legacy BIOS and small disk block the upgrade")
    en, vi, old = _both(check, facts)
    assert en == "not eligible for Windows 11: legacy BIOS: no Secure Boot; storage 32 GB"
    assert (
        vi
        == old
        == ("không đủ điều kiện lên Windows 11: BIOS kiểu cũ (legacy): không có Secure Boot; ổ lưu trữ 32 GB")
    )
    check, facts = _case("eligible Windows 10 PC")
    _en, vi, old = _both(check, facts)
    assert vi == old and "Secure Boot đang bật" in vi and "bộ nhớ (RAM) 7,9 GB" in vi
    # Idle timeouts of a network device: "never" and minutes.
    check, facts = _case("exec-timeout 0 0 fails")
    facts["device"]["audit"]["idle_timeouts"].append({"line": "con 0", "seconds": 1800})
    en, vi, old = _both(check, facts)
    assert en == "idle sessions stay open too long (vty 0 4: never, con 0: 30 min)"
    assert (
        vi
        == old
        == (
            "phiên làm việc không hoạt động được giữ quá lâu (vty 0 4: không bao giờ tự đóng, con 0: 30 phút)"
        )
    )
    # A revocation never reached, and a MAC whose vendor nobody knows.
    check, facts = _case("unknown revocation is not a revocation verdict")
    facts["certificates"]["certificates"][0]["validation"]["revocation"] = "not_checked"
    en, vi, old = _both(check, facts)
    assert en.startswith("revocation not checked")
    assert vi == old and vi.startswith("trạng thái thu hồi: chưa kiểm tra")
    check, facts = _case("two MACs answering for the gateway")
    facts["network_scan"]["arp_conflicts"][0]["vendors"] = ["Routerboard.com", None]
    en, vi, old = _both(check, facts)
    assert "f0:de:f1:99:88:77 (vendor unknown)" in en
    assert (
        vi == old and "00:0c:42:11:22:33 (Routerboard.com), f0:de:f1:99:88:77 (không rõ hãng sản xuất)" in vi
    )


def test_every_firmware_reason_has_vietnamese() -> None:
    from importlib import resources

    import yaml

    from collector.i18n import catalog

    table = yaml.safe_load(resources.files("checks.data").joinpath("firmware_min.yaml").read_text("utf-8"))
    reasons = [r["reason"] for rules in table["platforms"].values() for r in rules]
    assert reasons and all(isinstance(r, str) for r in reasons)
    missing = [r for r in reasons if not catalog("vi").get(r)]
    assert not missing, missing
