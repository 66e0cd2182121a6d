"""No 500 from any input: each request below answered 500 before (found by Schemathesis and by hand), on
SQLite, PostgreSQL or both; now each is a 4xx that says what was wrong, the same on both databases."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers import enroll, host_report, post_report, seed_site, user_token

BIG = [2**31, 2**63, 10**30]


def _build_world(client: Any, engine: Any) -> dict[str, Any]:
    agent = enroll(client, seed_site(engine))
    device_id = post_report(client, agent, host_report(agent.agent_id)).json()["device_id"]
    admin = user_token(client, engine, username="boss", role="admin")
    return {"device": device_id, "admin": admin, "agent": agent}


@pytest.fixture
def world(client, app):  # type: ignore[no-untyped-def]
    """A world of this test's own: the tests that change something (costs, devices, logins) use it."""
    return _build_world(client, app.state.engine)


@pytest.fixture(scope="module")
def read_only_world(
    module_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Any, dict[str, Any]]]:
    """One world per module and database, for the range checks: each of their requests is refused
    (422) before it reads or writes a row, so they can share it (building it per test cost ~0.3 s each)."""
    from fastapi.testclient import TestClient

    from collector.app import create_app
    from collector.settings import CollectorSettings

    data = tmp_path_factory.mktemp("no-500") / "data"
    app = create_app(CollectorSettings(database_url=module_database_url, data_dir=data))
    with TestClient(app) as client:
        yield client, _build_world(client, app.state.engine)
    app.state.engine.dispose()


@pytest.mark.parametrize(
    "template",
    [
        "/api/v1/audit?offset={n}",
        "/api/v1/devices?package={n}",
        "/api/v1/devices/{n}/history",
        "/api/v1/devices/{device}/history?offset={n}",
        "/api/v1/identity-conflicts/{n}",
        "/api/v1/identity-conflicts?device_id={n}",
        "/api/v1/notifications/subscriptions/{n}/deliveries",
        "/api/v1/vulnerabilities?device_id={n}",
        "/api/v1/findings?device={n}",
        "/api/v1/devices/{n}",
        "/api/v1/devices/{n}/reports",
        "/api/v1/findings/{n}",
        "/api/v1/inspections/{n}",
        "/api/v1/inspections/{n}/photos/{n}",
        "/api/v1/certificates?device_id={n}",
        "/api/v1/devices/{n}/configs",
        "/api/v1/devices/{n}/configs/{n}",
        "/api/v1/devices/{device}/configs/diff?a={n}&b={n}",
        "/api/v1/planning/assets/{n}",
        "/api/v1/users/{n}/disable",
        "/devices/{n}",
        "/findings/{n}",
        "/inspections/{n}",
        "/devices/{n}/history",
        "/devices/{n}/checks",
        "/notifications/{n}",
        "/export/devices/{n}/software.csv",
    ],
)
def test_ids_and_offsets_past_the_database_range_are_a_422(read_only_world, template):
    client, world = read_only_world
    for n in BIG:
        url = template.format(n=n, device=world["device"])
        method = client.post if url.endswith("/disable") else client.get
        r = method(url, headers=world["admin"])
        assert r.status_code == 422, (url, r.status_code, r.text[:300])
        if url.startswith("/api/"):
            assert any("2147483647" in str(e) for e in r.json()["detail"]), r.text


def test_costs_past_what_a_column_holds_are_refused(client, app, world):
    admin, device = world["admin"], world["device"]
    for cost in (2_000_000_001, 2**63, 10**30):
        r = client.put(f"/api/v1/planning/assets/{device}", json={"purchase_cost": cost}, headers=admin)
        assert r.status_code == 422 and "2000000000" in r.text, r.text
        r = client.put("/api/v1/planning/unit-costs", json={"desktop": cost}, headers=admin)
        assert r.status_code == 422 and "2000000000" in r.text, r.text
    # An import row with such a cost is a row error in the preview, and nothing is applied.
    csv = "serial,purchase_cost\nSN-1,99999999999999999999\n"
    headers = {**admin, "Content-Type": "text/csv"}
    r = client.post(
        "/api/v1/planning/assets/import", params={"apply": "true"}, content=csv.encode(), headers=headers
    )
    assert r.status_code == 200, r.text
    row = r.json()["rows"][0]
    assert row["action"] == "error" and "2.000.000.000 VND" in row["message"]
    assert client.get(f"/api/v1/planning/assets/{device}", headers=admin).json()["purchase_cost"] is None
    # A carriage return inside an unquoted field is not CSV: a 400 that says so.
    r = client.post(
        "/api/v1/planning/assets/import", content=b"serial,supplier\nSN-1,a\rb\n", headers=headers
    )
    assert r.status_code == 400 and "not valid CSV" in r.json()["detail"], r.text


def test_the_console_forms_refuse_huge_costs_with_a_message(client, app, world):
    from tests.collector.planning.seed import login

    csrf = login(client, app.state.engine, username="planner", role="planner")["csrf"]
    r = client.post(
        f"/planning/assets/{world['device']}",
        data={"csrf_token": csrf, "purchase_cost": "9" * 25, "status": "in_service"},
    )
    # The page speaks the reader's language ("... lớn hơn 2.000.000.000 đồng" in Vietnamese): the limit
    # is written with dots between thousands either way.
    assert r.status_code == 400 and "2.000.000.000" in r.text
    r = client.post("/planning/costs", data={"csrf_token": csrf, "cost_desktop": "9" * 25})
    assert r.status_code == 400 and "2.000.000.000" in r.text


def test_renaming_a_managed_device_to_a_taken_name_is_a_409(client, app, world):
    admin = world["admin"]
    body = {"site": "P01", "host": "192.0.2.1", "platform": "cisco_ios", "username": "ww"}
    first = client.post("/api/v1/netdevices", json={**body, "name": "core"}, headers=admin).json()
    second = client.post("/api/v1/netdevices", json={**body, "name": "edge"}, headers=admin).json()
    r = client.put(f"/api/v1/netdevices/{second['id']}", json={**body, "name": "core"}, headers=admin)
    assert r.status_code == 409 and "already has a network device named 'core'" in r.json()["detail"]
    # Saving a device under its own name is not a clash.
    r = client.put(f"/api/v1/netdevices/{first['id']}", json={**body, "name": "core"}, headers=admin)
    assert r.status_code == 200, r.text


def test_nul_in_a_login_name_or_an_enroll_hostname_is_refused(client, app, world):
    r = client.post("/api/v1/auth/token", data={"username": "boss\x00", "password": "correct horse battery"})
    assert r.status_code == 401, r.text
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    r = client.post("/login", data={"username": "a\x00b", "password": "x", "csrf_token": token.group(1)})
    assert r.status_code == 401
    secret = seed_site(app.state.engine)
    r = client.post("/api/v1/agents/enroll", json={"secret": secret, "hostname": "pc\x00-01"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "hostname"]
    # The audit log still answers (the failed login was recorded without the NUL).
    assert client.get("/api/v1/audit", headers=world["admin"]).status_code == 200


def test_nul_in_any_query_is_a_4xx_not_a_database_error(client, world):
    for url in ("/api/v1/devices?q=a%00b", "/api/v1/findings?check=x%00", "/api/v1/audit?actor=%00"):
        r = client.get(url, headers=world["admin"])
        assert r.status_code == 422 and "NUL" in r.text, (url, r.status_code, r.text)


def test_the_asset_report_json_carries_dates(client, world):
    admin, device = world["admin"], world["device"]
    body = {"purchase_date": "2019-04-02", "warranty_end": "2022-04-01", "purchase_cost": 15_000_000}
    assert client.put(f"/api/v1/planning/assets/{device}", json=body, headers=admin).status_code == 200
    r = client.get("/api/v1/planning/assets/report", headers=admin)
    assert r.status_code == 200, r.text
    (row,) = r.json()["register"]
    assert (row["purchase_date"], row["warranty_end"]) == ("2019-04-02", "2022-04-01")
