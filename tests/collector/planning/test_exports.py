"""Plan exports read back: PDF text keeps Vietnamese diacritics, XLSX cells are typed, CSV opens in Excel."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime

from openpyxl import load_workbook
from pypdf import PdfReader

from collector.reports.planning_report import render_plan
from collector.services.planning import Candidate, PlanRules, build_plan

AT = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
THUAN_AN = "Xã Thuận An — Ủy ban nhân dân"
FACTORS = (
    {
        "name": "storage",
        "weight": 35,
        "points": 35.0,
        "critical": ["overall_failed"],
        "evidence": [{"code": "disk_overall_failed", "params": {"disk": "sda (ST500DM002)"}}],
    },
    {
        "name": "age",
        "weight": 20,
        "points": 20.0,
        "critical": [],
        "evidence": [{"code": "age_purchase", "params": {"years": 9, "date": "12/03/2017"}}],
    },
)


def plan():  # type: ignore[no-untyped-def]
    fleet = [
        Candidate(
            1, "ubnd-thuận-an-01", "X05", THUAN_AN, "desktop", 88, "replace_now",
            15_000_000, FACTORS, storage_failed=True, asset_tag="TS-0001", model="Dell OptiPlex 3020",
            purchase_date=date(2017, 3, 12),
        ),
        Candidate(2, "một-cửa-02", "X05", THUAN_AN, "laptop", 41, "plan_12_months", 18_000_000),
        Candidate(3, "kế-toán-03", "P06", "Phường Đông Hòa", "desktop", 70, "replace_now", 15_000_000),
    ]  # fmt: skip
    return build_plan(fleet, PlanRules(budget=31_000_000, must_replace=("storage_failed",)), generated_at=AT)


def test_pdf_embeds_a_font_and_keeps_vietnamese_text():
    from collector.pdf.layout import Issuer, Signer
    from collector.reports.document import Letterhead

    head = Letterhead(
        Issuer("ỦY BAN NHÂN DÂN THÀNH PHỐ ĐÀ NẴNG", "SỞ KHOA HỌC VÀ CÔNG NGHỆ", "SKHCN", "Đà Nẵng"),
        Signer(position="Trưởng phòng Kế hoạch", full_name="Trần Văn Bình", capacity="NGƯỜI LẬP"),
    )
    data = render_plan(plan(), "pdf", "vi", head)
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(p.extract_text() for p in reader.pages)
    flat = " ".join(text.split())
    # Table cells wrap long words; compare those without the line breaks.
    assert "ubnd-thuận-an-01" in "".join(text.split())
    for phrase in (
        "Kế hoạch thay thế thiết bị",
        "Kinh phí (dự toán)",
        "31.000.000 ₫",
        "Phường Đông Hòa",
        "thay thế ngay",
        "ổ cứng đang hỏng",
        "SMART tự đánh giá tình trạng: HỎNG",
        "mua ngày 12/03/2017",
        "thiết bị đầu tiên không đủ kinh phí: cần 18.000.000 ₫, còn 1.000.000 ₫",
    ):
        assert phrase in flat, phrase
    fonts = [
        f.get_object()["/BaseFont"]
        for page in reader.pages
        for f in page["/Resources"]["/Font"].values()  # type: ignore[union-attr]
    ]
    assert fonts and all("LiberationSerif" in str(f) for f in fonts)  # Times New Roman metrics
    # The plan is a proposal of the responsible unit in the administrative layout (Decree 30/2020).
    for phrase in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "SỞ KHOA HỌC VÀ CÔNG NGHỆ",
        "/TTr-SKHCN",
        "TỜ TRÌNH",
        "PHỤ LỤC I",
        "TRƯỞNG PHÒNG KẾ HOẠCH",
        "Trần Văn Bình",
    ):
        assert phrase in flat, phrase
    descriptor = reader.pages[0]["/Resources"]["/Font"]  # type: ignore[index]
    first = next(iter(descriptor.values())).get_object()
    assert "/FontFile2" in first["/DescendantFonts"][0].get_object()["/FontDescriptor"]  # embedded TrueType


def test_xlsx_cells_are_typed_and_columns_sized():
    wb = load_workbook(io.BytesIO(render_plan(plan(), "xlsx", "vi")))
    assert wb.sheetnames == ["Tóm tắt", "Kế hoạch", "Chưa được chọn", "Theo đơn vị"]
    summary = wb["Tóm tắt"]
    values = {row[0].value: row[1] for row in summary.iter_rows(min_row=3) if row[0].value}
    assert values["Kinh phí (dự toán)"].value == 31_000_000
    assert values["Kinh phí (dự toán)"].number_format == '#,##0" ₫"'
    sheet = wb["Kế hoạch"]
    header = [c.value for c in sheet[1]]
    col = {name: i for i, name in enumerate(header)}
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [r[col["Thiết bị"]] for r in rows] == ["ubnd-thuận-an-01", "kế-toán-03"]
    assert rows[0][col["Đơn giá"]] == 15_000_000 and rows[1][col["Lũy kế"]] == 30_000_000
    assert isinstance(rows[0][col["Điểm"]], int)
    widths = {k: v.width for k, v in sheet.column_dimensions.items()}
    assert widths["L"] >= 60 and 6 <= widths["A"] <= 12  # reasons wide, rank narrow
    assert sheet.freeze_panes == "A2"
    skipped = list(wb["Chưa được chọn"].iter_rows(min_row=2, values_only=True))
    assert [r[2] for r in skipped] == ["một-cửa-02"]


def test_csv_has_a_bom_plain_numbers_and_every_decision():
    raw = render_plan(plan(), "csv", "vi")
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [(r["Quyết định"], r["Thiết bị"]) for r in rows] == [
        ("thay thế", "ubnd-thuận-an-01"),
        ("thay thế", "kế-toán-03"),
        ("chưa chọn", "một-cửa-02"),
    ]
    assert rows[0]["Đơn giá"] == "15000000"
    assert rows[0]["Căn cứ chọn"] == "bắt buộc thay thế: ổ cứng đang hỏng"


def test_json_and_english():
    data = json.loads(render_plan(plan(), "json", "en"))
    assert data["spent"] == 30_000_000 and data["remaining"] == 1_000_000
    assert data["picks"][0]["reason"] == "must replace: a disk is failing"
    assert data["picks"][0]["category_label"] == "replace now"
    assert data["picks"][0]["reasons"][0].startswith("Storage health (35): sda (ST500DM002): SMART overall")
