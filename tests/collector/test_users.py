"""Users: argon2 passwords, lockout and per-address throttling, disable, reset, scope; the audit log.

Run against a SQLite file and, when configured, the real PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from collector.db import make_engine, session_scope
from collector.models.core import AuditEvent, AuthSession, User
from collector.services import audit
from collector.services import users as svc
from collector.services.errors import Conflict, NotFound, ServiceError, Unauthorized
from collector.services.sites import create_site

PASSWORD = "a-long-password"


@pytest.fixture
def engine(database_url: str) -> Any:
    engine = make_engine(database_url)
    with session_scope(engine) as s:
        create_site(s, code="S1", name="Site one")
        create_site(s, code="S2", name="Site two")
        svc.create_user(s, username="root", password=PASSWORD, role="admin")
        svc.create_user(s, username="lan", password=PASSWORD, role="technician", site_codes=["S1"])
    yield engine
    engine.dispose()


def _user(s: Session, name: str) -> User:
    user = s.exec(select(User).where(User.username == name)).one()
    return user


def test_passwords_are_stored_as_argon2_hashes(engine: Any) -> None:
    with Session(engine) as s:
        stored = _user(s, "lan").password_hash
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_create_refuses_duplicates_short_passwords_unknown_roles_and_sites(engine: Any) -> None:
    with session_scope(engine) as s:
        with pytest.raises(Conflict):
            svc.create_user(s, username="lan", password=PASSWORD, role="viewer")
        with pytest.raises(ServiceError, match="at least 8"):
            svc.create_user(s, username="x", password="short", role="viewer")
        with pytest.raises(ServiceError, match="unknown role 'boss'"):
            svc.create_user(s, username="y", password=PASSWORD, role="boss")
        with pytest.raises(NotFound, match="no site with code 'S9'"):
            svc.create_user(s, username="z", password=PASSWORD, role="viewer", site_codes=["S9"])


def test_list_shows_roles_scopes_and_lock_state(engine: Any) -> None:
    with Session(engine) as s:
        rows = {r.user.username: r for r in svc.list_users(s)}
    assert rows["lan"].site_codes == ["S1"] and rows["root"].site_codes == []
    assert not rows["lan"].locked


def test_five_wrong_passwords_lock_the_account_for_a_while(engine: Any) -> None:
    for _ in range(svc.MAX_FAILED_LOGINS):
        with session_scope(engine) as s, pytest.raises(Unauthorized, match="wrong username or password"):
            svc.authenticate(s, username="lan", password="nope", address="10.0.0.5")
    with session_scope(engine) as s, pytest.raises(Unauthorized, match="too many failed logins"):
        svc.authenticate(s, username="lan", password=PASSWORD, address="10.0.0.5")
    with session_scope(engine) as s:
        lan = _user(s, "lan")
        assert svc.is_locked(lan)
        lan.locked_until = datetime.now(UTC) - timedelta(seconds=1)  # the lockout runs out
        s.add(lan)
    with session_scope(engine) as s:
        assert svc.authenticate(s, username="lan", password=PASSWORD).username == "lan"
    with Session(engine) as s:
        page = audit.query(s, actor="lan", action="login")
        actions = [e.action for e in page.events]
        assert actions.count("login.failed") == 5 and "login.locked" in actions and actions[0] == "login"
        assert {e.address for e in page.events if e.action == "login.failed"} == {"10.0.0.5"}


def test_one_address_guessing_across_accounts_is_throttled(engine: Any) -> None:
    with session_scope(engine) as s:
        for i in range(svc.MAX_FAILED_PER_ADDRESS):
            s.add(AuditEvent(actor=f"guess{i}", action="login.failed", address="203.0.113.9"))
    with session_scope(engine) as s, pytest.raises(Unauthorized, match="from this address"):
        svc.authenticate(s, username="root", password=PASSWORD, address="203.0.113.9")
    with session_scope(engine) as s:  # another address is not affected
        assert svc.authenticate(s, username="root", password=PASSWORD, address="198.51.100.1")


def test_disabling_ends_sessions_and_refuses_login(engine: Any) -> None:
    with session_scope(engine) as s:
        lan = _user(s, "lan")
        svc.create_auth_session(s, lan, kind="web", hours=1)
        svc.create_auth_session(s, lan, kind="api", hours=1)
        lan_id = lan.id or 0
    with session_scope(engine) as s:
        svc.set_disabled(s, user_id=lan_id, disabled=True, actor="root", address="10.1.1.1")
    with session_scope(engine) as s:
        assert s.exec(select(AuthSession).where(AuthSession.user_id == lan_id)).all() == []
        with pytest.raises(Unauthorized):
            svc.authenticate(s, username="lan", password=PASSWORD)
    with session_scope(engine) as s:
        svc.set_disabled(s, user_id=lan_id, disabled=False, actor="root")
    with session_scope(engine) as s:
        assert svc.authenticate(s, username="lan", password=PASSWORD)
    with Session(engine) as s:
        events = audit.query(s, target="lan", action="user.").events
        assert [e.action for e in events][:2] == ["user.enable", "user.disable"]
        assert events[1].actor == "root" and events[1].address == "10.1.1.1"


def test_nobody_disables_or_demotes_themself(engine: Any) -> None:
    with session_scope(engine) as s:
        root_id = _user(s, "root").id or 0
        with pytest.raises(ServiceError, match="your own account"):
            svc.set_disabled(s, user_id=root_id, disabled=True, actor="root")
        with pytest.raises(ServiceError, match="your own role"):
            svc.update_user(s, user_id=root_id, role="viewer", site_codes=[], actor="root")


def test_reset_password_gives_a_new_one_lifts_the_lockout_and_ends_sessions(engine: Any) -> None:
    with session_scope(engine) as s:
        lan = _user(s, "lan")
        lan.locked_until = datetime.now(UTC) + timedelta(minutes=10)
        s.add(lan)
        svc.create_auth_session(s, lan, kind="web", hours=1)
        lan_id = lan.id or 0
    with session_scope(engine) as s:
        new = svc.reset_password(s, user_id=lan_id, actor="root")
    assert len(new) >= svc.MIN_PASSWORD_LENGTH
    with session_scope(engine) as s:
        assert s.exec(select(AuthSession).where(AuthSession.user_id == lan_id)).all() == []
        with pytest.raises(Unauthorized):
            svc.authenticate(s, username="lan", password=PASSWORD)
    with session_scope(engine) as s:
        assert svc.authenticate(s, username="lan", password=new)


def test_update_changes_role_and_scope(engine: Any) -> None:
    with session_scope(engine) as s:
        lan_id = _user(s, "lan").id or 0
        svc.update_user(s, user_id=lan_id, role="inspector", site_codes=["S1", "S2"], actor="root")
    with Session(engine) as s:
        assert _user(s, "lan").role == "inspector"
        assert svc.user_site_codes(s, lan_id) == ["S1", "S2"]
    with session_scope(engine) as s:
        svc.update_user(s, user_id=lan_id, role="viewer", site_codes=[], actor="root")
    with Session(engine) as s:
        assert svc.user_site_codes(s, lan_id) == []  # every site


def test_audit_query_filters_and_pages(engine: Any) -> None:
    base = (datetime.now(UTC) + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    with session_scope(engine) as s:
        for i in range(30):
            s.add(
                AuditEvent(
                    at=base + timedelta(hours=i),
                    actor="root" if i % 2 else "lan",
                    action="user.create" if i % 3 else "login",
                    target=f"t{i}",
                    address="10.0.0.1" if i < 10 else "10.0.0.2",
                )
            )
    with Session(engine) as s:
        window = audit.query(s, since=base, until=base + timedelta(hours=10), limit=100)
        assert window.total == 10 and window.events[0].target == "t9"  # newest first
        assert audit.query(s, actor="root", since=base).total == 15
        assert audit.query(s, actor="ROO", since=base).total == 15
        assert audit.query(s, address="10.0.0.1", since=base).total == 10
        assert audit.query(s, action="login", since=base).total == 10
        page2 = audit.query(s, since=base, limit=7, offset=7)
        assert page2.total == 30 and [e.target for e in page2.events][0] == "t22"
        assert audit.query(s, actor="%").total == 0  # a wildcard typed by a user matches literally
        assert "user.create" in audit.known_actions(s)
