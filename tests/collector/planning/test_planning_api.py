"""Replacement plan, scores, asset register and import through the API, on SQLite and PostgreSQL."""

from __future__ import annotations

import io

from openpyxl import load_workbook
from sqlmodel import Session

from collector.models.assets import DeviceScore
from tests.collector.planning.seed import api_headers, ingest, pc_facts


def test_scores_are_stored_at_ingest_and_explain_themselves(client, fleet):
    headers = api_headers(client, fleet.engine, username="tech", role="technician")
    rows = {r["hostname"]: r for r in client.get("/api/v1/planning/scores", headers=headers).json()}
    fail = rows["pc-fail"]
    assert fail["category"] == "replace_now" and fail["score"] >= 60
    storage = next(f for f in fail["factors"] if f["name"] == "storage")
    assert storage["points"] == 35 and "overall_failed" in storage["critical"]
    assert any("FAILED" in e["text"] for e in storage["evidence"])
    assert rows["pc-new"]["category"] == "healthy"
    assert rows["lap-1"]["device_class"] == "laptop"


def test_changed_facts_recompute_the_score(client, fleet):
    with Session(fleet.engine) as s:
        before = s.get(DeviceScore, fleet.ids["pc-new"])
        assert before is not None and before.category == "healthy"
    # The same PC's disk starts failing: the next report moves it to "replace now".
    ingest(
        fleet.engine,
        fleet.url,
        fleet.agents["P01"],
        pc_facts("pc-new", serial="CN0NEW001", disk="nvme-critical-warning-failed"),
    )
    with Session(fleet.engine) as s:
        after = s.get(DeviceScore, fleet.ids["pc-new"])
        assert after is not None and after.category == "replace_now"
        assert after.category_reason and "nvme_critical_warning" in after.category_reason


def test_plan_json_fits_the_budget_and_explains_picks(client, fleet):
    headers = api_headers(client, fleet.engine, username="planner", role="planner")
    r = client.get("/api/v1/planning/plan", params={"budget": 35_000_000}, headers=headers)
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["spent"] <= 35_000_000 and plan["currency"] == "VND"
    picks = [p["hostname"] for p in plan["picks"]]
    assert picks[0] == "pc-fail"  # must replace: a disk is failing
    assert plan["picks"][0]["reason"] == "bắt buộc thay thế: ổ cứng đang hỏng"
    assert "pc-new" not in picks
    assert all(p["reasons"] for p in plan["picks"])
    notable = [n for n in plan["non_picks"] if n["notable"]]
    assert plan["spent"] + plan["remaining"] == 35_000_000
    if len(picks) < 3:
        assert notable and "kinh phí" in notable[0]["reason"]


def test_plan_downloads_in_every_format(client, fleet):
    headers = api_headers(client, fleet.engine, username="planner", role="planner")
    base = {"budget": 100_000_000, "min_per_site": 1}
    csv = client.get("/api/v1/planning/plan", params={**base, "format": "csv"}, headers=headers)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.content.startswith(b"\xef\xbb\xbf") and "Phường Bến Nghé" in csv.content.decode("utf-8-sig")
    xlsx = client.get("/api/v1/planning/plan", params={**base, "format": "xlsx"}, headers=headers)
    assert "attachment" in xlsx.headers["content-disposition"]
    wb = load_workbook(io.BytesIO(xlsx.content))
    sheet = wb["Kế hoạch"]
    assert [c.value for c in sheet[1]][:3] == ["Thứ tự", "Đơn vị", "Thiết bị"]
    assert isinstance(sheet["I2"].value, int) and sheet["I2"].number_format == '#,##0" ₫"'
    pdf = client.get("/api/v1/planning/plan", params={**base, "format": "pdf", "lang": "en"}, headers=headers)
    assert pdf.content.startswith(b"%PDF")


def test_bad_plan_parameters_are_named(client, fleet):
    headers = api_headers(client, fleet.engine, username="planner", role="planner")
    r = client.get("/api/v1/planning/plan", params={"budget": -1}, headers=headers)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "budget"]
    r = client.get("/api/v1/planning/plan", params={"budget": 1, "must": "hope"}, headers=headers)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "must", 0]
    r = client.get("/api/v1/planning/plan", params={"budget": 1, "site_min": "P01=2"}, headers=headers)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "site_min", 0]


def test_roles_technicians_read_planners_edit_viewers_nothing(client, fleet):
    tech = api_headers(client, fleet.engine, username="tech", role="technician")
    viewer = api_headers(client, fleet.engine, username="viewer", role="viewer")
    planner = api_headers(client, fleet.engine, username="planner", role="planner")
    device = fleet.ids["pc-old"]
    assert client.get("/api/v1/planning/plan", params={"budget": 1}, headers=viewer).status_code == 403
    assert client.get(f"/api/v1/planning/assets/{device}", headers=tech).status_code == 200
    assert (
        client.put(f"/api/v1/planning/assets/{device}", json={"supplier": "X"}, headers=tech).status_code
        == 403
    )
    assert client.put("/api/v1/planning/unit-costs", json={"desktop": 1}, headers=tech).status_code == 403
    r = client.put(
        f"/api/v1/planning/assets/{device}",
        json={"asset_tag": "UBND-X02-0042", "purchase_date": "2013-04-02", "status": "to_replace"},
        headers=planner,
    )
    assert r.status_code == 200, r.text
    assert r.json()["asset_tag"] == "UBND-X02-0042" and r.json()["status"] == "to_replace"
    # A second device may not take the same tag.
    clash = client.put(
        f"/api/v1/planning/assets/{fleet.ids['lap-1']}", json={"asset_tag": "UBND-X02-0042"}, headers=planner
    )
    assert clash.status_code == 409


def test_asset_edit_rescores_and_drives_must_replace(client, fleet):
    planner = api_headers(client, fleet.engine, username="planner", role="planner")
    device = fleet.ids["lap-1"]
    client.put(f"/api/v1/planning/assets/{device}", json={"status": "to_replace"}, headers=planner)
    plan = client.get("/api/v1/planning/plan", params={"budget": 40_000_000}, headers=planner).json()
    first_two = [p["hostname"] for p in plan["picks"][:2]]
    assert "lap-1" in first_two and any("sổ tài sản" in p["reason"] for p in plan["picks"][:2])
    client.put(f"/api/v1/planning/assets/{device}", json={"purchase_date": "2015-01-10"}, headers=planner)
    age = next(
        f for f in client.get("/api/v1/planning/scores", headers=planner).json() if f["device_id"] == device
    )["factors"]
    assert any(
        "mua ngày 10/01/2015" in e["text"] or "purchased 10/01/2015" in e["text"]
        for f in age
        for e in f["evidence"]
    )


def test_site_scoped_planner_plans_only_its_commune(client, fleet):
    scoped = api_headers(client, fleet.engine, username="p-x02", role="planner", sites=["X02"])
    plan = client.get("/api/v1/planning/plan", params={"budget": 10**9}, headers=scoped).json()
    assert {p["site"] for p in plan["picks"]} == {"X02"}
    assert client.get(f"/api/v1/planning/assets/{fleet.ids['pc-fail']}", headers=scoped).status_code == 404
    r = client.put(f"/api/v1/planning/assets/{fleet.ids['pc-fail']}", json={"supplier": "x"}, headers=scoped)
    assert r.status_code == 404


def test_unit_costs_from_the_console_win_over_the_config(client, fleet):
    planner = api_headers(client, fleet.engine, username="planner", role="planner")
    assert client.get("/api/v1/planning/unit-costs", headers=planner).json()["laptop"] == 18_000_000
    r = client.put("/api/v1/planning/unit-costs", json={"laptop": 21_500_000}, headers=planner)
    assert r.status_code == 200 and r.json()["laptop"] == 21_500_000
    plan = client.get("/api/v1/planning/plan", params={"budget": 10**9}, headers=planner).json()
    lap = next(p for p in plan["picks"] if p["hostname"] == "lap-1")
    assert lap["unit_cost"] == 21_500_000
    bad = client.put("/api/v1/planning/unit-costs", json={"toaster": 5}, headers=planner)
    # The classes are the body's schema: another name is a 422 that names it.
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "toaster"]


CSV = (
    "Số serial;Mã tài sản;Ngày mua;Nguyên giá;Nhà cung cấp;Trạng thái\n"
    "CN0OLD001;UBND-X02-0001;02/04/2012;9.800.000;Công ty TNHH Tin học Sài Gòn;đang sử dụng\n"
    "5cg0lap01;UBND-X02-0002;15/03/2018;17.500.000 ₫;FPT;cần thay thế\n"
    "NO-SUCH-SERIAL;UBND-X02-0003;01/01/2020;1;;\n"
    "CN0NEW001;;31/02/2025;;;\n"
)


def test_csv_import_previews_then_applies(client, fleet):
    planner = api_headers(client, fleet.engine, username="planner", role="planner")
    headers = {**planner, "Content-Type": "text/csv"}
    preview = client.post("/api/v1/planning/assets/import", content=CSV.encode(), headers=headers)
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert body["applied"] is False
    rows = {r["line"]: r for r in body["rows"]}
    assert (
        rows[2]["action"] == "create"
        and rows[2]["hostname"] == "pc-old"
        and rows[2]["matched_by"] == "serial"
    )
    assert rows[2]["changes"]["purchase_cost"] == [None, 9_800_000]
    assert rows[3]["action"] == "create" and rows[3]["hostname"] == "lap-1"  # serial matched in any case
    assert rows[4]["action"] == "no_match"
    assert rows[5]["action"] == "error" and "31/02/2025" in rows[5]["message"]
    # The preview wrote nothing.
    assert (
        client.get(f"/api/v1/planning/assets/{fleet.ids['pc-old']}", headers=planner).json()["asset_tag"]
        is None
    )

    applied = client.post(
        "/api/v1/planning/assets/import", params={"apply": "true"}, content=CSV.encode(), headers=headers
    )
    assert applied.json()["created"] == 2 and applied.json()["skipped"] == 2
    old = client.get(f"/api/v1/planning/assets/{fleet.ids['pc-old']}", headers=planner).json()
    assert old["asset_tag"] == "UBND-X02-0001" and old["purchase_date"] == "2012-04-02"
    assert old["supplier"] == "Công ty TNHH Tin học Sài Gòn" and old["purchase_cost"] == 9_800_000
    lap = client.get(f"/api/v1/planning/assets/{fleet.ids['lap-1']}", headers=planner).json()
    assert lap["status"] == "to_replace"
    # Importing the same file again changes nothing; the tag now matches first.
    again = client.post("/api/v1/planning/assets/import", content=CSV.encode(), headers=headers).json()
    assert again["rows"][0]["action"] == "unchanged" and again["rows"][0]["matched_by"] == "asset_tag"


def test_csv_import_without_key_columns_says_what_it_needs(client, fleet):
    planner = api_headers(client, fleet.engine, username="planner", role="planner")
    r = client.post(
        "/api/v1/planning/assets/import",
        content=b"name,cost\na,1\n",
        headers={**planner, "Content-Type": "text/csv"},
    )
    assert r.status_code == 400 and "'serial' or an 'asset_tag' column" in r.json()["detail"]


def test_asset_report_json_and_xlsx(client, fleet):
    tech = api_headers(client, fleet.engine, username="tech", role="technician")
    report = client.get("/api/v1/planning/assets/report", headers=tech).json()
    assert report["devices"] == 4
    x02 = report["by_site"]["X02"]
    assert x02["devices"] == 2 and x02["class"] == {"desktop": 1, "laptop": 1}
    assert x02["age"].get("9+") == 1
    xlsx = client.get("/api/v1/planning/assets/report", params={"format": "xlsx"}, headers=tech)
    wb = load_workbook(io.BytesIO(xlsx.content))
    assert "Sổ tài sản" in wb.sheetnames
    reg = wb["Sổ tài sản"]
    header = [c.value for c in reg[1]]
    assert header[:3] == ["Đơn vị", "Thiết bị", "Số serial"]
    assert reg.max_row == 5


def test_os_factor_reads_the_agents_check_results(client, fleet):
    from checks.runner import run_checks
    from inventory.report import CheckResult, CheckStatus
    from tests.collector.planning.seed import old_security, win10

    facts = pc_facts("pc-w10", serial="CN0W10001", os=win10(), security=old_security())
    results = [r for r in run_checks(facts) if r.check_id in ("host.os.supported", "host.os.windows11_ready")]
    assert {r.check_id: r.status for r in results} == {
        "host.os.supported": CheckStatus.FAIL,
        "host.os.windows11_ready": CheckStatus.FAIL,
    }
    device = ingest(fleet.engine, fleet.url, fleet.agents["P01"], facts, results=results)
    headers = api_headers(client, fleet.engine, username="tech", role="technician")
    rows = {r["device_id"]: r for r in client.get("/api/v1/planning/scores", headers=headers).json()}
    os_factor = next(f for f in rows[device]["factors"] if f["name"] == "os_support")
    texts = [e["text"] for e in os_factor["evidence"]]
    by_id = {r.check_id: r.evidence for r in results}
    assert by_id["host.os.supported"] in texts
    assert f"cannot run Windows 11: {by_id['host.os.windows11_ready']}" in texts
    assert os_factor["points"] == 20

    # A later report whose result says otherwise wins over what the facts alone would say.
    ready = CheckResult(
        check_id="host.os.windows11_ready", status=CheckStatus.PASS, evidence="meets Windows 11 requirements"
    )
    supported = next(r for r in results if r.check_id == "host.os.supported")
    ingest(fleet.engine, fleet.url, fleet.agents["P01"], facts, results=[supported, ready])
    rows = {r["device_id"]: r for r in client.get("/api/v1/planning/scores", headers=headers).json()}
    os_factor = next(f for f in rows[device]["factors"] if f["name"] == "os_support")
    assert os_factor["points"] == 6.0
    assert "can be upgraded to Windows 11: meets Windows 11 requirements" in [
        e["text"] for e in os_factor["evidence"]
    ]
