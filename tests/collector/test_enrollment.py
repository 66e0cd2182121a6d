"""Enroll secrets expire (7 days by default) and may be limited in uses; an agent rotates its own key
and the old key dies once the new one is used (issue 13 part 5). Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from sqlmodel import Session, select

from collector.db import make_engine, session_scope
from collector.models.core import Agent, AuditEvent, EnrollSecret
from collector.models.types import utcnow
from collector.security import token_hash
from collector.services.enrollment import create_enroll_secret
from tests.collector.support import CommandRun, ww
from tests.helpers import PASSWORD, host_report, post_report, seed_site, user_token


def _enroll(client, secret: str):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/agents/enroll", json={"secret": secret, "hostname": "pc"})


def test_a_secret_expires_after_7_days_by_default_and_then_enrolls_nobody(client, app):
    engine = app.state.engine
    secret = seed_site(engine, "A01")
    with Session(engine) as s:
        row = s.exec(select(EnrollSecret)).one()
        left = row.expires_at - utcnow()
        assert timedelta(days=6, hours=23) < left <= timedelta(days=7)
        row.expires_at = utcnow() - timedelta(seconds=1)
        s.add(row)
        s.commit()
    r = _enroll(client, secret)
    assert r.status_code == 401 and "expired" in r.json()["detail"]


def test_a_secret_with_a_maximum_of_uses_enrolls_that_many_agents(client, app):
    engine = app.state.engine
    seed_site(engine, "A01")
    admin = user_token(client, engine, username="adm", role="admin")
    made = client.post(
        "/api/v1/enroll-secrets", json={"site": "A01", "max_uses": 2, "valid_days": 3}, headers=admin
    )
    assert made.status_code == 201, made.text
    secret = made.json()["secret"]
    assert [_enroll(client, secret).status_code for _ in range(3)] == [201, 201, 401]
    third = _enroll(client, secret)
    assert "maximum of 2" in third.json()["detail"]
    [listed] = [x for x in client.get("/api/v1/enroll-secrets", headers=admin).json() if x["max_uses"]]
    assert (listed["uses"], listed["max_uses"], listed["active"]) == (2, 2, False)
    assert listed["expires_at"] is not None
    too_long = client.post("/api/v1/enroll-secrets", json={"site": "A01", "valid_days": 4000}, headers=admin)
    assert too_long.status_code == 422
    with Session(engine) as s:
        assert len(s.exec(select(Agent)).all()) == 2


def test_enroll_secret_page_shows_expiry_and_uses(client, app):
    engine = app.state.engine
    seed_site(engine, "A01")
    with session_scope(engine) as s:
        create_enroll_secret(s, site_code="A01", label="one PC", valid_days=2, max_uses=1)
    user_token(client, engine, username="adm", role="admin")
    page = _login_get(client, "/admin/enroll-secrets")
    assert (
        "0 / 1" in page and "Số tác tử tối đa" in page and 'name="valid_days"' in page and 'value="7"' in page
    )


def _login_get(client, path: str) -> str:  # type: ignore[no-untyped-def]
    """The page as the admin sees it in the console (logged in through the login form)."""
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)  # type: ignore[union-attr]
    r = client.post(
        "/login",
        data={"username": "adm", "password": PASSWORD, "csrf_token": csrf, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return client.get(path).text


def test_enroll_secret_create_command_takes_expiry_and_uses(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'ww.db'}"

    def cli(*args: str) -> CommandRun:
        return ww(*args, "--database-url", url)

    assert cli("db", "upgrade").returncode == 0
    assert cli("site", "add", "A01", "Phường A").returncode == 0
    done = cli("enroll-secret", "create", "--site", "A01", "--valid-days", "2", "--max-uses", "5")
    assert done.returncode == 0, done.stderr
    plain = cli("enroll-secret", "create", "--site", "A01")
    bad = cli("enroll-secret", "create", "--site", "A01", "--max-uses", "0")
    assert bad.returncode == 2
    engine = make_engine(url)
    with Session(engine) as s:
        limited = s.exec(
            select(EnrollSecret).where(EnrollSecret.secret_hash == token_hash(done.stdout.strip()))
        ).one()
        default = s.exec(
            select(EnrollSecret).where(EnrollSecret.secret_hash == token_hash(plain.stdout.strip()))
        ).one()
    engine.dispose()
    assert limited.max_uses == 5 and default.max_uses is None
    assert (
        timedelta(days=1, hours=23) < limited.expires_at - limited.created_at <= timedelta(days=2, seconds=1)
    )
    assert (
        timedelta(days=6, hours=23) < default.expires_at - default.created_at <= timedelta(days=7, seconds=1)
    )


def test_rotated_key_the_old_key_works_until_the_new_one_is_used_then_401(client, app):
    engine = app.state.engine
    r = _enroll(client, seed_site(engine, "A01"))
    agent_id, old = r.json()["agent_id"], r.json()["agent_key"]
    old_h = {"Authorization": f"Bearer {old}"}
    rotated = client.post("/api/v1/agents/rotate-key", headers=old_h)
    assert rotated.status_code == 200 and rotated.headers["cache-control"] == "no-store"
    new = rotated.json()["agent_key"]
    assert new != old and rotated.json()["agent_id"] == agent_id
    new_h = {"Authorization": f"Bearer {new}"}

    class Sender:  # post_report's agent: id and headers
        def __init__(self, headers: dict[str, str]) -> None:
            self.agent_id, self.headers = agent_id, headers

    # Until the new key is used, the old one still delivers (the agent may not have saved the new one).
    assert post_report(client, Sender(old_h), host_report(agent_id)).status_code == 202
    assert client.get("/api/v1/agents/me", headers=old_h).json()["site"] == "A01"
    assert post_report(client, Sender(new_h), host_report(agent_id)).status_code == 202
    dead = post_report(client, Sender(old_h), host_report(agent_id))
    assert dead.status_code == 401
    assert client.get("/api/v1/agents/me", headers=new_h).status_code == 200
    with Session(engine) as s:
        agent = s.get(Agent, agent_id)
        assert agent.key_hash == token_hash(new) and agent.pending_key_hash is None
        actions = [e.action for e in s.exec(select(AuditEvent).order_by(AuditEvent.id)).all()]
    assert "agent.key_rotation" in actions and "agent.key_rotated" in actions
