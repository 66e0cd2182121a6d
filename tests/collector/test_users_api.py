"""The administration API: users, the audit log, agents and enroll secrets, with bearer tokens."""

from __future__ import annotations

from typing import Any

import pytest

from collector.db import session_scope
from collector.services.sites import create_site
from collector.services.users import create_user
from tests.helpers import PASSWORD


def _token(client: Any, username: str, password: str = PASSWORD) -> dict[str, str]:
    answer = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@pytest.fixture
def admin(app: Any, client: Any) -> dict[str, str]:
    with session_scope(app.state.engine) as s:
        create_site(s, code="S1", name="Site one")
        create_site(s, code="S2", name="Site two")
        create_user(s, username="root", password=PASSWORD, role="admin")
        create_user(s, username="tech1", password=PASSWORD, role="technician", site_codes=["S1"])
    return _token(client, "root")


def test_admin_manages_users_over_the_api(client: Any, admin: dict[str, str]) -> None:
    created = client.post(
        "/api/v1/users",
        json={"username": "insp", "password": PASSWORD, "role": "inspector", "sites": ["S2"]},
        headers=admin,
    )
    assert created.status_code == 201
    user = created.json()
    assert user["role"] == "inspector" and user["sites"] == ["S2"] and not user["disabled"]
    assert "password" not in user and "password_hash" not in user

    dup = client.post(
        "/api/v1/users", json={"username": "insp", "password": PASSWORD, "role": "viewer"}, headers=admin
    )
    assert dup.status_code == 409 and "already exists" in dup.json()["detail"]
    short = {"username": "b", "password": "x", "role": "viewer"}
    bad = client.post("/api/v1/users", json=short, headers=admin)
    assert bad.status_code == 400 and "at least 12 characters" in bad.json()["detail"]

    insp = _token(client, "insp")
    assert client.get("/api/v1/me", headers=insp).json()["username"] == "insp"
    assert client.get("/api/v1/users", headers=insp).status_code == 403

    uid = user["id"]
    changed = client.put(f"/api/v1/users/{uid}", json={"role": "planner", "sites": []}, headers=admin)
    assert changed.json()["role"] == "planner" and changed.json()["sites"] == []

    assert client.post(f"/api/v1/users/{uid}/disable", headers=admin).json()["disabled"] is True
    assert client.get("/api/v1/me", headers=insp).status_code == 401  # its token ended
    assert client.post(f"/api/v1/users/{uid}/enable", headers=admin).json()["disabled"] is False

    reset = client.post(f"/api/v1/users/{uid}/reset-password", headers=admin)
    assert reset.status_code == 200 and reset.headers["cache-control"] == "no-store"
    assert reset.json()["must_change"] is True
    one_time = reset.json()["password"]
    answer = client.post("/api/v1/auth/token", data={"username": "insp", "password": one_time})
    assert answer.status_code == 200 and answer.json()["password_change_required"] is True
    pending = {"Authorization": f"Bearer {answer.json()['access_token']}"}
    # Until the one-time password is replaced, every call says why it is refused.
    refused = client.get("/api/v1/devices", headers=pending)
    assert refused.status_code == 403 and "password change required" in refused.json()["detail"]
    assert client.get("/api/v1/me", headers=pending).json()["must_change_password"] is True
    weak = {"current_password": one_time, "new_password": "password-1234"}
    assert client.post("/api/v1/me/password", json=weak, headers=pending).status_code == 400
    wrong = {"current_password": "not-the-one-time", "new_password": "owns-this-phrase-77"}
    assert client.post("/api/v1/me/password", json=wrong, headers=pending).status_code == 400
    own = {"current_password": one_time, "new_password": "my-own-long-phrase"}
    assert client.post("/api/v1/me/password", json=own, headers=pending).status_code == 204
    assert client.get("/api/v1/devices", headers=pending).status_code == 200  # this token stays
    assert (
        client.post("/api/v1/auth/token", data={"username": "insp", "password": one_time}).status_code == 401
    )
    _token(client, "insp", "my-own-long-phrase")

    assert client.post("/api/v1/users/99999/disable", headers=admin).status_code == 404
    me = client.get("/api/v1/me", headers=admin).json()["id"]
    refused = client.post(f"/api/v1/users/{me}/disable", headers=admin)
    assert refused.status_code == 409 and "your own account" in refused.json()["detail"]

    audit = client.get("/api/v1/audit", params={"action": "user.", "limit": 3}, headers=admin)
    assert audit.status_code == 200 and len(audit.json()) == 3
    assert int(audit.headers["x-total-count"]) >= 6
    assert audit.json()[0]["action"] == "user.change_password" and audit.json()[0]["actor"] == "insp"
    assert audit.json()[1]["action"] == "user.reset_password" and audit.json()[1]["actor"] == "root"


def test_agents_and_enroll_secrets_over_the_api(client: Any, admin: dict[str, str]) -> None:
    made = client.post("/api/v1/enroll-secrets", json={"site": "S1", "label": "one"}, headers=admin)
    assert made.status_code == 201 and made.json()["secret"].startswith("wwe_")
    assert made.headers["cache-control"] == "no-store"
    secret = made.json()["secret"]
    unknown = client.post("/api/v1/enroll-secrets", json={"site": "S9"}, headers=admin)
    assert unknown.status_code == 404

    listed = client.get("/api/v1/enroll-secrets", headers=admin).json()
    assert [s["site"] for s in listed] == ["S1"] and secret not in str(listed) and listed[0]["active"]

    enrolled = client.post("/api/v1/agents/enroll", json={"secret": secret, "hostname": "pc-1"}).json()
    tech = _token(client, "tech1")
    agents = client.get("/api/v1/agents", headers=tech).json()
    assert [a["hostname"] for a in agents] == ["pc-1"] and agents[0]["stale"] is True
    assert client.post(f"/api/v1/agents/{enrolled['agent_id']}/revoke", headers=tech).status_code == 403

    assert client.post(f"/api/v1/agents/{enrolled['agent_id']}/revoke", headers=admin).status_code == 204
    assert client.get("/api/v1/agents", headers=admin).json()[0]["revoked_at"] is not None
    sid = listed[0]["id"]
    assert client.post(f"/api/v1/enroll-secrets/{sid}/revoke", headers=admin).status_code == 204
    again = client.post("/api/v1/agents/enroll", json={"secret": secret, "hostname": "pc-2"})
    assert again.status_code == 401 and "revoked" in again.json()["detail"]
    assert client.post("/api/v1/enroll-secrets/4242/revoke", headers=admin).status_code == 404
