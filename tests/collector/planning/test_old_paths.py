"""The planning API's former paths and CLI name still work for existing clients and scripts.

``/api/v1/replacement/...`` is now ``/api/v1/planning/...`` and ``/api/v1/assets/...`` is
``/api/v1/planning/assets/...``: the old ones answer 308 (method and body kept), so a client that
follows redirects gets the same answer. ``wardwatch plan`` is now ``wardwatch planning``.
"""

from __future__ import annotations

import json

from typer.testing import CliRunner

from tests.collector.planning.seed import api_headers

# Two rows that match the fleet's devices by serial (pc-old, lap-1), one that matches nothing.
CSV = (
    "Số serial;Mã tài sản;Ngày mua;Nguyên giá;Nhà cung cấp;Trạng thái\n"
    "CN0OLD001;UBND-X02-0001;02/04/2012;9.800.000;Công ty TNHH Tin học Sài Gòn;đang sử dụng\n"
    "5cg0lap01;UBND-X02-0002;15/03/2018;17.500.000 ₫;FPT;cần thay thế\n"
    "NO-SUCH-SERIAL;UBND-X02-0003;01/01/2020;1;;\n"
)


def test_a_get_through_the_old_path_gets_the_same_plan(client, fleet):
    headers = api_headers(client, fleet.engine, username="planner", role="planner")
    params = {"budget": 35_000_000, "min_per_site": 1}
    moved = client.get("/api/v1/replacement/plan", params=params, headers=headers, follow_redirects=False)
    assert moved.status_code == 308
    assert moved.headers["location"] == "/api/v1/planning/plan?budget=35000000&min_per_site=1"
    old = client.get("/api/v1/replacement/plan", params=params, headers=headers)
    new = client.get("/api/v1/planning/plan", params=params, headers=headers)
    assert old.status_code == new.status_code == 200
    same = [{k: v for k, v in r.json().items() if k != "generated_at"} for r in (old, new)]
    assert same[0] == same[1] and same[0]["picks"]
    old_assets = client.get("/api/v1/assets", headers=headers)
    assert old_assets.json() == client.get("/api/v1/planning/assets", headers=headers).json()
    device = fleet.ids["pc-old"]
    assert client.get(f"/api/v1/assets/{device}", headers=headers).json()["hostname"] == "pc-old"


def test_a_post_and_a_put_through_the_old_paths_reach_the_same_routes(client, fleet):
    planner = api_headers(client, fleet.engine, username="planner", role="planner")
    headers = {**planner, "Content-Type": "text/csv"}
    old = client.post("/api/v1/assets/import", content=CSV.encode(), headers=headers)
    new = client.post("/api/v1/planning/assets/import", content=CSV.encode(), headers=headers)
    assert old.status_code == new.status_code == 200
    assert old.json() == new.json() and old.json()["applied"] is False
    # Applying through the old path (the query string goes along) changes the register.
    applied = client.post(
        "/api/v1/assets/import", params={"apply": "true"}, content=CSV.encode(), headers=headers
    )
    assert applied.json()["applied"] is True and applied.json()["created"] == 2
    asset = client.get(f"/api/v1/planning/assets/{fleet.ids['pc-old']}", headers=planner).json()
    assert asset["asset_tag"] == "UBND-X02-0001"
    # A PUT keeps its body too.
    r = client.put("/api/v1/replacement/unit-costs", json={"laptop": 21_500_000}, headers=planner)
    assert r.status_code == 200 and r.json()["laptop"] == 21_500_000
    assert client.get("/api/v1/planning/unit-costs", headers=planner).json()["laptop"] == 21_500_000


def test_the_old_paths_let_in_no_one_the_new_ones_refuse(client, fleet):
    viewer = api_headers(client, fleet.engine, username="viewer", role="viewer")
    assert client.get("/api/v1/replacement/plan", params={"budget": 1}, headers=viewer).status_code == 403
    assert client.get("/api/v1/assets").status_code == 401


def test_the_old_paths_are_not_in_the_openapi_document(client):
    paths = set(client.app.openapi()["paths"])
    assert "/api/v1/planning/plan" in paths and "/api/v1/planning/assets/import" in paths
    assert not [p for p in paths if p.startswith(("/api/v1/replacement", "/api/v1/assets"))]


def test_the_former_cli_name_still_runs_and_is_hidden(fleet):
    from collector.cli import app
    from collector.commands import planning  # noqa: F401  (registers the command)

    runner = CliRunner()
    old = runner.invoke(app, ["plan", "replacement", "--budget", "1", "--database-url", fleet.url])
    new = runner.invoke(app, ["planning", "replacement", "--budget", "1", "--database-url", fleet.url])
    assert old.exit_code == new.exit_code == 0
    assert json.loads(old.stdout)["picks"] == json.loads(new.stdout)["picks"] == []
    shown = runner.invoke(app, ["--help"]).output
    assert "planning" in shown and " plan " not in shown
