"""Sites, devices and report history through the API, within each user's site scope."""

from __future__ import annotations

from tests.helpers import enroll, host_report, post_report, seed_site, user_token


def seed_two_sites(client, engine):  # type: ignore[no-untyped-def]
    a = enroll(client, seed_site(engine, "P01", "Phường Bến Nghé"), "pc-a")
    b = enroll(client, seed_site(engine, "X02", "Xã Bình Chánh"), "pc-b")
    ra = post_report(client, a, host_report(a.agent_id, hostname="pc-a", machine_id="ma", serial="sa"))
    rb = post_report(client, b, host_report(b.agent_id, hostname="pc-b", machine_id="mb", serial="sb"))
    return ra.json()["device_id"], rb.json()["device_id"]


def test_api_needs_a_token(client):
    r = client.get("/api/v1/devices")
    assert r.status_code == 401


def test_token_with_wrong_password_is_refused(client, app):
    user_token(client, app.state.engine, username="u1")
    r = client.post("/api/v1/auth/token", data={"username": "u1", "password": "wrong password"})
    assert r.status_code == 401 and r.json()["detail"] == "wrong username or password"


def test_sites_and_devices_for_an_unscoped_user(client, app):
    da, db = seed_two_sites(client, app.state.engine)
    headers = user_token(client, app.state.engine)
    sites = {s["code"]: s for s in client.get("/api/v1/sites", headers=headers).json()}
    assert sites["P01"]["device_count"] == 1 and sites["P01"]["name"] == "Phường Bến Nghé"
    devices = client.get("/api/v1/devices", headers=headers).json()
    assert {d["hostname"] for d in devices} == {"pc-a", "pc-b"}
    one = client.get("/api/v1/devices", params={"site": "X02"}, headers=headers).json()
    assert [d["hostname"] for d in one] == ["pc-b"]
    detail = client.get(f"/api/v1/devices/{da}", headers=headers).json()
    assert detail["facts"]["system"]["model"] == "OptiPlex 3020" and detail["site"] == "P01"
    history = client.get(f"/api/v1/devices/{da}/reports", headers=headers).json()
    assert len(history) == 1 and {"report_id", "collected_at", "received_at"} <= set(history[0])


def test_scoped_user_sees_only_its_site(client, app):
    da, db = seed_two_sites(client, app.state.engine)
    headers = user_token(client, app.state.engine, username="scoped", role="viewer", sites=["P01"])
    assert [s["code"] for s in client.get("/api/v1/sites", headers=headers).json()] == ["P01"]
    assert [d["hostname"] for d in client.get("/api/v1/devices", headers=headers).json()] == ["pc-a"]
    other = client.get(f"/api/v1/devices/{db}", headers=headers)
    missing = client.get("/api/v1/devices/999999", headers=headers)
    assert other.status_code == missing.status_code == 404
    assert client.get("/api/v1/devices", params={"site": "X02"}, headers=headers).status_code == 404


def test_metrics_count_reports_by_outcome(client, app):
    agent = enroll(client, seed_site(app.state.engine))
    report = host_report(agent.agent_id)
    post_report(client, agent, report)
    post_report(client, agent, report)
    client.post("/api/v1/reports", content=b"{", headers=agent.headers)
    admin = user_token(client, app.state.engine, username="root", role="admin")
    assert client.get("/metrics").status_code == 401
    text = client.get("/metrics", headers=admin).text
    assert 'wardwatch_reports_total{outcome="accepted"} 1' in text
    assert 'wardwatch_reports_total{outcome="duplicate"} 1' in text
    assert 'wardwatch_reports_total{outcome="rejected"} 1' in text
    assert "wardwatch_devices 1" in text
