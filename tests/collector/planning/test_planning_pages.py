"""Planning pages (plan, asset report with charts, edit form, CSV import, unit costs) and the CLI."""

from __future__ import annotations

import io
import json
import re
from datetime import date

from openpyxl import load_workbook
from pypdf import PdfReader
from typer.testing import CliRunner

from tests.collector.planning.seed import login


def test_plan_page_with_a_budget_lists_the_picks_and_downloads(client, fleet):
    login(client, fleet.engine, username="planner", role="planner")
    r = client.get(
        "/planning",
        params={"budget": "35.000.000", "min_per_site": "1", "rules": "1", "must": "storage_failed"},
    )
    assert r.status_code == 200, r.text
    html = r.text
    assert "Kế hoạch thay thế" in html
    assert re.search(r'id="plan-budget">35\.000\.000 ₫<', html)
    picks = html.split('id="plan-picks"')[1].split("</table>")[0]
    assert "pc-fail" in picks and "bắt buộc thay thế: ổ cứng đang hỏng" in picks
    assert "Tình trạng ổ cứng" in picks  # the factors' reasons
    link = re.search(r'href="(/planning/plan\.xlsx\?[^"]+)"', html)
    assert link
    xlsx = client.get(link.group(1).replace("&amp;", "&"))
    assert xlsx.status_code == 200
    wb = load_workbook(io.BytesIO(xlsx.content))
    assert wb["Kế hoạch"]["C2"].value == "pc-fail"


def test_plan_page_says_what_is_wrong_with_the_budget(client, fleet):
    login(client, fleet.engine, username="planner", role="planner")
    r = client.get("/planning", params={"budget": "nhiều tiền"})
    # In the reader's language: the Vietnamese page said it in English before.
    assert r.status_code == 200 and "không phải là số tiền" in r.text and "kinh phí (dự toán)" in r.text
    assert "is not an amount in VND" not in r.text
    r = client.get("/planning", params={"budget": "nhiều tiền", "lang": "en"})
    assert "budget: &#39;nhiều tiền&#39; is not an amount in VND" in r.text


def test_pages_need_a_planning_role(client, fleet):
    login(client, fleet.engine, username="viewer", role="viewer")
    assert client.get("/planning").status_code == 403
    assert client.get("/planning/assets").status_code == 403
    client.cookies.clear()
    assert client.get("/planning", follow_redirects=False).status_code == 303


def test_asset_report_page_has_the_three_charts(client, fleet):
    login(client, fleet.engine, username="tech", role="technician")
    r = client.get("/planning/assets")
    assert r.status_code == 200
    svgs = re.findall(r"<svg[^>]*>.*?</svg>", r.text, flags=re.S)
    assert len(svgs) == 3
    titles = [re.search(r"<title>([^<]+)</title>", s).group(1) for s in svgs]  # type: ignore[union-attr]
    assert titles == ["Thiết bị theo tuổi (năm)", "Hỗ trợ hệ điều hành", "Nhóm tình trạng theo đơn vị"]
    assert "Xã Bình Chánh — thay thế trong 12 tháng" in svgs[2] or "Xã Bình Chánh — thay thế ngay" in svgs[2]
    counts = r.text.split("Theo hệ điều hành và đơn vị")[1].split("</details>")[0]
    assert "Microsoft Windows 10 Pro" in counts and "Xã Bình Chánh" in counts
    assert "Theo mẫu máy và đơn vị" in r.text and "HP ProBook 450 G5" in r.text
    # A technician reads; the import is for planners.
    assert 'href="/planning/import"' not in r.text
    pdf = client.get("/planning/assets/report.pdf")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Báo cáo tài sản thiết bị" in text and "Xã Bình Chánh" in text


def test_edit_form_saves_with_csrf_and_technicians_cannot_post(client, fleet):
    device = fleet.ids["pc-old"]
    session = login(client, fleet.engine, username="planner", role="planner")
    page = client.get(f"/planning/assets/{device}")
    assert page.status_code == 200 and 'id="factors"' in page.text and "Tình trạng ổ cứng" in page.text
    form = {
        "asset_tag": "UBND-X02-0107",
        "purchase_date": "05/09/2011",
        "purchase_cost": "8.900.000",
        "supplier": "Công ty Cổ phần Máy tính Hà Nội",
        "warranty_end": "05/09/2014",
        "status": "to_replace",
        "device_class": "",
        "notes": "Máy chậm, hay treo",
    }
    assert client.post(f"/planning/assets/{device}", data=form).status_code == 403  # no CSRF token
    r = client.post(
        f"/planning/assets/{device}", data={**form, "csrf_token": session["csrf"]}, follow_redirects=False
    )
    assert r.status_code == 303
    shown = client.get(f"/planning/assets/{device}").text
    assert (
        'value="UBND-X02-0107"' in shown
        and 'value="05/09/2011"' in shown
        and "Đã lưu hồ sơ tài sản." in shown
    )
    years = int((date.today() - date(2011, 9, 5)).days / 365.25)
    assert f"{years} năm tuổi (mua ngày 05/09/2011)" in shown
    bad = client.post(
        f"/planning/assets/{device}",
        data={**form, "purchase_date": "2011/99/99", "csrf_token": session["csrf"]},
    )
    # The Vietnamese page says it in Vietnamese (the service error is a msgid with parameters).
    assert bad.status_code == 400 and "không phải là ngày" in bad.text

    tech = login(client, fleet.engine, username="tech", role="technician")
    assert (
        client.post(f"/planning/assets/{device}", data={**form, "csrf_token": tech["csrf"]}).status_code
        == 403
    )


def test_import_page_previews_then_applies(client, fleet):
    session = login(client, fleet.engine, username="planner", role="planner")
    csv_text = (
        "serial,asset_tag,purchase_date,purchase_cost\n"
        "CN0FAIL01,UBND-P01-0009,10/10/2014,12.000.000\n"
        "ZZZ,,,\n"
    )
    r = client.post(
        "/planning/import",
        data={"csrf_token": session["csrf"]},
        files={"file": ("tai-san.csv", csv_text.encode("utf-8-sig"), "text/csv")},
    )
    assert r.status_code == 200, r.text
    preview = r.text.split('id="import-preview"')[1]
    assert "pc-fail" in preview and "tạo mới" in preview and "không khớp thiết bị nào" in preview
    # Why a row does not apply reads in the viewer's language too.
    assert "không có thiết bị nào có số sê-ri hoặc mã tài sản này" in preview
    assert "no device with this serial" not in preview
    hidden = re.search(r'name="csv_text" value="([^"]*)"', r.text)
    assert hidden
    applied = client.post(
        "/planning/import/apply",
        data={"csrf_token": session["csrf"], "csv_text": csv_text},
        follow_redirects=True,
    )
    assert applied.status_code == 200 and "Đã nhập: tạo mới 1, cập nhật 0, bỏ qua 1." in applied.text
    assert "UBND-P01-0009" in applied.text


def test_unit_costs_page(client, fleet):
    session = login(client, fleet.engine, username="planner", role="planner")
    page = client.get("/planning/costs")
    assert (
        page.status_code == 200 and 'name="cost_laptop" inputmode="numeric" value="18.000.000"' in page.text
    )
    r = client.post(
        "/planning/costs",
        data={"csrf_token": session["csrf"], "cost_laptop": "19.900.000", "cost_desktop": "14.500.000"},
        follow_redirects=True,
    )
    assert "Đã lưu đơn giá." in r.text and 'value="19.900.000"' in r.text


def test_cli_writes_the_plan(fleet, tmp_path):
    from collector.cli import app
    from collector.commands import planning  # noqa: F401  (registers the command)

    out = tmp_path / "ke-hoach.pdf"
    runner = CliRunner()
    args = ["planning", "replacement", "--budget", "40.000.000", "--format", "pdf", "--output", str(out)]
    r = runner.invoke(app, [*args, "--database-url", fleet.url])
    assert r.exit_code == 0, r.output
    text = "".join(p.extract_text() for p in PdfReader(str(out)).pages)
    assert "Kế hoạch thay thế thiết bị" in text and "Phường Bến Nghé" in text
    j = runner.invoke(app, ["planning", "replacement", "--budget", "1", "--database-url", fleet.url])
    assert j.exit_code == 0 and json.loads(j.stdout)["picks"] == []
    bad = runner.invoke(app, ["planning", "replacement", "--budget", "abc", "--database-url", fleet.url])
    assert bad.exit_code == 2 and "not an amount in VND" in bad.output


def test_cli_names_an_unwritable_output_and_an_unusable_database(fleet, tmp_path):
    from collector.cli import app
    from collector.commands import planning  # noqa: F401  (registers the command)

    runner = CliRunner()
    out = tmp_path / "no-such-dir" / "ke-hoach.xlsx"
    args = ["planning", "replacement", "--budget", "40.000.000", "--format", "xlsx", "--output", str(out)]
    r = runner.invoke(app, [*args, "--database-url", fleet.url])
    assert r.exit_code == 2 and f"cannot write {out}" in r.output and "Traceback" not in r.output
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    r = runner.invoke(app, ["planning", "replacement", "--budget", "1", "--database-url", empty])
    assert r.exit_code == 2 and "cannot read the database" in r.output and "wardwatch db upgrade" in r.output
