"""Translations: every user-facing string of the console has Vietnamese, in the official terms.

Strings are found the way gettext tools find them: Babel's extractors over the templates (Jinja2) and the
Python modules under collector/web, looking for ``_("...")``; navigation and tab labels (the
``nav``, ``site_tabs``, ``device_tabs`` of the page specs) count too. Every room's strings are checked,
so a page added without its ``locales/vi/<room>.po`` entries fails here.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from collector.web.i18n import (
    LANGUAGES,
    format_date,
    format_money,
    format_number,
    parse_user_date,
    translator,
)
from collector.web.setup import page_specs

WEB = Path(str(resources.files("collector.web")))
CHECKS = Path(str(resources.files("checks")))
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|\{(\w+)\}")


def ui_strings() -> dict[str, str]:
    """msgid -> where it was first seen."""
    found: dict[str, str] = {}
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    options = {"**/templates/**.html": {"trim_blocks": "true", "lstrip_blocks": "true"}}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(WEB), method_map, options_map=options, keywords={"_": None}
    ):
        msgid = message if isinstance(message, str) else message[0]
        if msgid:
            found.setdefault(msgid, f"collector/web/{filename}:{lineno}")
    # Documents (the PDF layout and the inspection record) speak through the same catalogs.
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(WEB.parent),
        [("reports/**.py", "python"), ("pdf/**.py", "python"), ("services/inspection_record.py", "python")],
        keywords={"_": None},
    ):
        msgid = message if isinstance(message, str) else message[0]
        if msgid:
            found.setdefault(msgid, f"collector/reports/{filename}:{lineno}")
    # Services, commands and the formatting module mark their texts with _() or N_(); evaluators write
    # their evidence as msg("...", **params). Each needs its Vietnamese, wherever it is shown.
    for folder, keywords in (
        ("services", {"_": None, "N_": None}),
        ("commands", {"_": None, "N_": None}),
        ("i18n", {"_": None, "N_": None}),
        ("web", {"N_": None}),
        ("reports", {"N_": None}),
    ):
        for filename, lineno, message, _comments, _context in extract_from_dir(
            str(WEB.parent / folder), [("**.py", "python")], keywords=keywords
        ):
            msgid = message if isinstance(message, str) else message[0]
            if msgid:
                found.setdefault(msgid, f"collector/{folder}/{filename}:{lineno}")
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(CHECKS), [("**.py", "python")], keywords={"msg": None}
    ):
        msgid = message if isinstance(message, str) else message[0]
        if msgid:
            found.setdefault(msgid, f"checks/{filename}:{lineno}")
    for spec in page_specs():
        for kind in ("nav", "site_tabs", "device_tabs"):
            for link in getattr(spec, kind):
                found.setdefault(link.label, f"{kind} entry {link!r}")
    return found


def po_entries(lang: str) -> list[tuple[str, str, str, bool]]:
    """(file, msgid, msgstr, fuzzy) of every .po file of a language (console and check catalogs)."""
    out = []
    for path in sorted([*(WEB / "locales" / lang).glob("*.po"), *(CHECKS / "locales" / lang).glob("*.po")]):
        with path.open("rb") as fh:
            for msg in read_po(fh, locale=lang):
                if msg.id:
                    out.append((path.name, str(msg.id), str(msg.string or ""), bool(msg.fuzzy)))
    return out


def test_the_extractor_finds_the_console_strings() -> None:
    strings = ui_strings()
    assert len(strings) > 150
    for expected in ("Log in", "Overview", "Installed software", "Administrator", "Users"):
        assert expected in strings


def test_every_user_facing_string_has_a_vietnamese_translation() -> None:
    translated = {msgid for _f, msgid, msgstr, fuzzy in po_entries("vi") if msgstr.strip() and not fuzzy}
    missing = sorted(
        f"{where}: {msgid!r}" for msgid, where in ui_strings().items() if msgid not in translated
    )
    assert not missing, "no Vietnamese in collector/web/locales/vi/*.po for:\n" + "\n".join(missing)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_translations_keep_their_placeholders(lang: str) -> None:
    broken = [
        f"{file}: {msgid!r} -> {msgstr!r}"
        for file, msgid, msgstr, _fuzzy in po_entries(lang)
        if msgstr and sorted(PLACEHOLDER.findall(msgid)) != sorted(PLACEHOLDER.findall(msgstr))
    ]
    assert not broken, "placeholders differ:\n" + "\n".join(broken)


def test_one_msgid_is_translated_the_same_in_every_room() -> None:
    seen: dict[str, tuple[str, str]] = {}
    clashes = []
    for file, msgid, msgstr, _fuzzy in po_entries("vi"):
        if msgstr and msgid in seen and seen[msgid][1] != msgstr:
            clashes.append(f"{msgid!r}: {seen[msgid][0]} says {seen[msgid][1]!r}, {file} says {msgstr!r}")
        seen.setdefault(msgid, (file, msgstr))
    assert not clashes, "\n".join(clashes)


GLOSSARY = {
    "Log in": "Đăng nhập",
    "Log out": "Đăng xuất",
    "Password": "Mật khẩu",
    "Users": "Người dùng",
    "Administrator": "Quản trị viên",
    "Technician": "Cán bộ kỹ thuật",
    "Inspector": "Cán bộ kiểm tra",
    "Planner": "Cán bộ kế hoạch",
    "Viewer": "Người xem",
    "Site": "Đơn vị",
    "Devices": "Thiết bị",
    "Operating system": "Hệ điều hành",
    "Hard disk": "Ổ cứng",
    "SSD": "Ổ SSD",
    "Memory (RAM)": "Bộ nhớ (RAM)",
    "Check": "Tiêu chí kiểm tra",
    "laptop": "máy tính xách tay",
    "desktop computer": "máy tính để bàn",
}


@pytest.mark.parametrize(("english", "vietnamese"), sorted(GLOSSARY.items()))
def test_the_glossary_terms_are_used(english: str, vietnamese: str) -> None:
    assert translator("vi")(english) == vietnamese


def test_english_is_the_message_itself_and_unknown_languages_fall_back_to_vietnamese() -> None:
    assert translator("en")("Log in") == "Log in"
    assert translator("fr")("Log in") == "Đăng nhập"
    assert translator("vi")("%(n)s min ago", n=5) == "5 phút trước"


def test_dates_are_dd_mm_yyyy_in_vietnamese() -> None:
    assert format_date(date(2026, 3, 7), "vi") == "07/03/2026"
    assert format_date(date(2026, 3, 7), "en") == "2026-03-07"
    # Times are shown in Vietnam time (UTC+7): 20:30 UTC is the next morning there.
    assert format_date(datetime(2026, 3, 7, 20, 30, tzinfo=UTC), "vi") == "08/03/2026 03:30"
    assert format_date(None, "vi") == "—"


def test_typed_dates_are_read_both_ways_and_money_is_vietnamese_dong() -> None:
    assert parse_user_date("07/03/2026") == date(2026, 3, 7)
    assert parse_user_date("2026-03-07") == date(2026, 3, 7)
    assert parse_user_date("31/02/2026") is None and parse_user_date("") is None
    assert format_money(12_500_000) == "12.500.000 ₫"


def test_numbers_follow_the_locale() -> None:
    assert format_number(1234.5, "vi") == "1.234,5" and format_number(1234.5, "en") == "1,234.5"
    assert format_number(1234567, "vi") == "1.234.567" and format_number(87.54, "vi", 2) == "87,54"
    assert format_money(1_000_000) == "1.000.000 ₫"


def test_english_catalogs_hold_only_entries_that_differ_from_the_msgid() -> None:
    # English is the msgid: an entry repeating it is a second copy that drifts when the msgid changes.
    identity = [f"{file}: {msgid!r}" for file, msgid, msgstr, _f in po_entries("en") if msgstr == msgid]
    assert not identity, "\n".join(identity)


def test_no_text_is_picked_from_a_language_pair_in_code() -> None:
    # One mechanism: catalogs. A (en, vi) pair picked with `lang == "vi"` bypasses them and the
    # pseudo-locale. The formatting module (collector/i18n) and the PDF's language tag are not texts.
    root = WEB.parent.parent
    pattern = re.compile(r'\[\s*1 if lang == "vi" else 0\s*\]|"[^"]*" if (?:doc\.)?lang == "vi" else "')
    hits = [
        f"{path.relative_to(root)}:{n}: {line.strip()}"
        for folder in ("collector", "checks")
        for path in (root / folder).rglob("*.py")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line) and "collector/i18n/" not in str(path) and "set_lang(" not in line
    ]
    assert not hits, "\n".join(hits)


def test_services_and_reports_format_through_the_i18n_module_not_the_web_package() -> None:
    root = WEB.parent
    hits = [
        str(path.relative_to(root))
        for folder in ("services", "reports", "commands")
        for path in (root / folder).rglob("*.py")
        if "collector.web.i18n" in path.read_text(encoding="utf-8")
    ]
    assert not hits, hits


def test_every_service_error_is_a_msgid_with_vietnamese() -> None:
    """A ServiceError (or a kind of it) carries a literal msgid and %(name)s parameters, never an f-string,
    so a page or a command shows it in the reader's language (ServiceError.text)."""
    import ast

    root = WEB.parent
    kinds = {"ServiceError", "NotFound", "Conflict", "Unauthorized", "Forbidden", "SigningRefused"}
    kinds |= {"PreviewOutdated", "NotSignedOff", "AlreadyPublished"}
    translated = {msgid for _f, msgid, msgstr, fuzzy in po_entries("vi") if msgstr.strip() and not fuzzy}
    problems = []
    for path in sorted(root.rglob("*.py")):
        where = f"collector/{path.relative_to(root)}"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            named = isinstance(node.func, ast.Name) and node.func.id in kinds
            # An import row's reason (ImportRow.say) is a service message too.
            said = isinstance(node.func, ast.Attribute) and node.func.attr == "say"
            if not (named or said):
                continue
            if not node.args:
                continue
            first = node.args[0]
            if isinstance(first, ast.JoinedStr):
                problems.append(f"{where}:{node.lineno}: an f-string; give a msgid and parameters")
            elif (
                isinstance(first, ast.Constant)
                and isinstance(first.value, str)
                and first.value not in translated
            ):
                problems.append(f"{where}:{node.lineno}: no Vietnamese for {first.value!r}")
    assert not problems, "\n".join(problems)


def test_a_service_error_reads_in_vietnamese_with_its_data_untouched() -> None:
    from collector.services.errors import Conflict, NotFound

    exc = Conflict("site %(code)s already exists", code="P01")
    assert str(exc) == "site P01 already exists"
    assert exc.text("vi") == "đơn vị P01 đã tồn tại"
    # Record ids are not numbers to format (no "finding 1.234").
    assert NotFound("no finding %(finding_id)s", finding_id=1234).text("vi") == "không có phát hiện 1234"


def test_a_bad_cell_of_an_asset_import_reads_in_vietnamese_after_its_line() -> None:
    from collector.services.assets.importing import _parse_values
    from collector.services.errors import ServiceError

    try:
        _parse_values({"serial": "SN1", "purchase_date": "32/13/2014"}, 1234)
    except ServiceError as exc:
        assert str(exc) == (
            "line 1234: purchase_date: '32/13/2014' is not a date (write dd/mm/yyyy or yyyy-mm-dd)"
        )
        assert exc.text("vi") == (
            "dòng 1234: purchase_date: '32/13/2014' không phải là ngày (hãy viết dd/mm/yyyy hoặc yyyy-mm-dd)"
        )
    else:
        raise AssertionError("a date that does not exist was accepted")
