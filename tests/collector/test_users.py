"""Users: argon2 passwords, the password rule, throttling, reset, confined administration; the audit log.

Run against a SQLite file and, when configured, the real PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlmodel import Session, select

from collector.db import make_engine, session_scope
from collector.models.core import AuditEvent, AuthSession, Site, User
from collector.models.security import LoginThrottle
from collector.services import audit, throttle
from collector.services import users as svc
from collector.services.audit import count_failure
from collector.services.errors import Conflict, Forbidden, NotFound, ServiceError, Unauthorized
from collector.services.passwords import PasswordRejected, check_password, common_passwords, one_time_password
from collector.services.sites import create_site
from collector.services.throttle import TooManyAttempts
from tests.helpers import PASSWORD


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


def test_create_refuses_duplicates_weak_passwords_unknown_roles_and_sites(engine: Any) -> None:
    with session_scope(engine) as s:
        with pytest.raises(Conflict):
            svc.create_user(s, username="lan", password=PASSWORD, role="viewer")
        with pytest.raises(PasswordRejected, match="at least 12"):
            svc.create_user(s, username="x", password="short-pass", role="viewer")
        with pytest.raises(PasswordRejected, match="common passwords"):
            svc.create_user(s, username="x", password="iloveyou12345", role="viewer")
        with pytest.raises(ServiceError, match="unknown role 'boss'"):
            svc.create_user(s, username="y", password=PASSWORD, role="boss")
        with pytest.raises(NotFound, match="no site with code 'S9'"):
            svc.create_user(s, username="z", password=PASSWORD, role="viewer", site_codes=["S9"])


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("12345678", "too_short"),  # accepted before: the rule was 8 characters
        ("iloveyou2025!", "common"),  # a common password with digits added is still common
        ("password-123", "common"),
        ("Qwertyuiop123", "common"),  # any case
        ("nguyen.van.an-2025", "username"),
        ("NGUYEN.VAN.AN!!xyz", "username"),
    ],
)
def test_the_password_rule_says_what_is_wrong(password: str, code: str) -> None:
    with pytest.raises(PasswordRejected) as refused:
        check_password(password, username="nguyen.van.an")
    assert refused.value.code == code


def test_good_passwords_pass_and_one_time_passwords_follow_the_rule() -> None:
    for password in (PASSWORD, "mật khẩu dài lắm", "correct horse battery staple"):
        check_password(password, username="nguyen.van.an")
    assert len(common_passwords()) >= 10_000
    for _ in range(20):
        check_password(one_time_password(username="abc"), username="abc")


def test_list_shows_roles_scopes_and_one_time_password_state(engine: Any) -> None:
    with Session(engine) as s:
        rows = {r.user.username: r for r in svc.list_users(s)}
    assert rows["lan"].site_codes == ["S1"] and rows["root"].site_codes == []
    assert not rows["lan"].user.must_change_password


def _login(engine: Any, username: str, password: str, address: str) -> Any:
    with session_scope(engine) as s:
        user = svc.authenticate(s, username=username, password=password, address=address)
        return SimpleNamespace(username=user.username, must_change_password=user.must_change_password)


def _refused(engine: Any, username: str, password: str, address: str) -> Exception:
    """The refusal, committed like the routes do (the throttle state and counts are kept)."""
    with Session(engine) as s:
        try:
            svc.authenticate(s, username=username, password=password, address=address)
        except (Unauthorized, TooManyAttempts) as exc:
            s.commit()
            return exc
    raise AssertionError(f"{username} from {address} was let in")


@pytest.fixture
def long_first_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first wait is a second; a minute keeps a slow machine from outwaiting it mid-test."""
    monkeypatch.setattr(throttle, "FIRST_DELAY", timedelta(minutes=1))


def test_a_stranger_guessing_slows_down_only_themself(engine: Any, long_first_wait: None) -> None:
    """Before: five anonymous wrong passwords locked any account, admins included, for 15 minutes."""
    for _ in range(throttle.FREE_FAILURES):
        assert isinstance(_refused(engine, "root", "guess-guess-guess", "203.0.113.9"), Unauthorized)
    with Session(engine) as s:
        row = s.get(LoginThrottle, ("root", "203.0.113.9"))
        assert row is not None and row.next_allowed_at is None  # the first failures cost nothing
    assert isinstance(_refused(engine, "root", "guess-guess-guess", "203.0.113.9"), Unauthorized)
    waiting = _refused(engine, "root", PASSWORD, "203.0.113.9")  # even the right password waits
    assert isinstance(waiting, TooManyAttempts) and waiting.retry_after >= 1
    # The real admin, elsewhere, logs in as usual.
    assert _login(engine, "root", PASSWORD, "198.51.100.1").username == "root"
    with session_scope(engine) as s:  # the wait runs out
        row = s.get(LoginThrottle, ("root", "203.0.113.9"))
        row.next_allowed_at = datetime.now(UTC) - timedelta(seconds=1)
        s.add(row)
    assert _login(engine, "root", PASSWORD, "203.0.113.9").username == "root"
    with Session(engine) as s:
        assert s.get(LoginThrottle, ("root", "203.0.113.9")) is None  # forgotten on success


def test_the_wait_stops_growing_at_a_ceiling(engine: Any) -> None:
    with session_scope(engine) as s:
        s.add(LoginThrottle(username="lan", address="10.7.7.7", failures=40))
    _refused(engine, "lan", "guess-guess-guess", "10.7.7.7")
    with Session(engine) as s:
        row = s.get(LoginThrottle, ("lan", "10.7.7.7"))
        assert row.next_allowed_at - row.last_failed_at == throttle.MAX_DELAY


def test_growing_delays_are_recorded_in_the_database(engine: Any) -> None:
    seen = []
    for _ in range(throttle.FREE_FAILURES + 3):
        with session_scope(engine) as s:
            row = s.get(LoginThrottle, ("lan", "10.9.9.9"))
            if row is not None:  # let the next attempt through, as if the caller had waited
                row.next_allowed_at = None
                s.add(row)
        _refused(engine, "lan", "guess-guess-guess", "10.9.9.9")
        with Session(engine) as s:
            row = s.get(LoginThrottle, ("lan", "10.9.9.9"))
            if row.next_allowed_at is not None:
                seen.append(round((row.next_allowed_at - row.last_failed_at).total_seconds()))
    assert seen == [1, 2, 4]


def test_unknown_users_are_throttled_like_real_ones(engine: Any, long_first_wait: None) -> None:
    answers = []
    for name in ("root", "no-such-user"):
        for _ in range(throttle.FREE_FAILURES + 1):
            _refused(engine, name, "guess-guess-guess", "203.0.113.20")
        answers.append(_refused(engine, name, "guess-guess-guess", "203.0.113.20"))
    assert [type(a) for a in answers] == [TooManyAttempts, TooManyAttempts]
    assert str(answers[0]) == str(answers[1])


def test_one_address_failing_across_accounts_and_kinds_is_throttled(engine: Any) -> None:
    with session_scope(engine) as s:
        for i in range(throttle.MAX_FAILURES_PER_ADDRESS):
            kind = throttle.FAILED_KINDS[i % len(throttle.FAILED_KINDS)]
            count_failure(s, action=kind, address="203.0.113.9")
    refused = _refused(engine, "root", PASSWORD, "203.0.113.9")
    assert isinstance(refused, TooManyAttempts) and "from this address" in str(refused)
    assert _login(engine, "root", PASSWORD, "198.51.100.1")  # another address is not affected
    with Session(engine) as s:
        rows = s.exec(select(AuditEvent).where(AuditEvent.address == "203.0.113.9")).all()
        # 100 failures and a refusal, counted on one row per kind and minute, not 101 rows.
        assert len(rows) <= 2 * (len(throttle.FAILED_KINDS) + 1)
        assert sum(r.count for r in rows if r.action in throttle.FAILED_KINDS) == 100


def test_a_disabled_user_gets_the_same_answer_as_a_wrong_password(engine: Any) -> None:
    with session_scope(engine) as s:
        svc.set_disabled(s, user_id=_user(s, "lan").id or 0, disabled=True, actor="root")
    disabled = _refused(engine, "lan", PASSWORD, "10.0.0.1")
    wrong = _refused(engine, "root", "guess-guess-guess", "10.0.0.2")
    unknown = _refused(engine, "nobody", "guess-guess-guess", "10.0.0.3")
    assert str(disabled) == str(wrong) == str(unknown) == "wrong username or password"


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


def test_reset_gives_a_one_time_password_forgets_throttles_and_ends_sessions(engine: Any) -> None:
    for _ in range(throttle.FREE_FAILURES + 1):
        _refused(engine, "lan", "guess-guess-guess", "10.0.0.5")
    with session_scope(engine) as s:
        lan = _user(s, "lan")
        svc.create_auth_session(s, lan, kind="web", hours=1)
        lan_id = lan.id or 0
    with session_scope(engine) as s:
        new = svc.reset_password(s, user_id=lan_id, actor="root")
    assert len(new) >= svc.MIN_PASSWORD_LENGTH
    with session_scope(engine) as s:
        assert s.exec(select(AuthSession).where(AuthSession.user_id == lan_id)).all() == []
        assert _user(s, "lan").must_change_password
        assert s.get(LoginThrottle, ("lan", "10.0.0.5")) is None
    assert isinstance(_refused(engine, "lan", PASSWORD, "10.0.0.5"), Unauthorized)
    assert _login(engine, "lan", new, "10.0.0.5").must_change_password


def test_a_user_changes_their_own_password(engine: Any) -> None:
    with session_scope(engine) as s:
        lan = _user(s, "lan")
        lan_id = lan.id or 0
        _token, keep = svc.create_auth_session(s, lan, kind="web", hours=1)
        svc.create_auth_session(s, lan, kind="api", hours=1)
        keep_id = keep.id
    with session_scope(engine) as s:
        with pytest.raises(Unauthorized, match="current password is wrong"):
            svc.change_password(s, user_id=lan_id, current="not-it-at-all", new="another-long-phrase")
        with pytest.raises(PasswordRejected, match="common"):
            svc.change_password(s, user_id=lan_id, current=PASSWORD, new="password12345")
        with pytest.raises(PasswordRejected, match="differ"):
            svc.change_password(s, user_id=lan_id, current=PASSWORD, new=PASSWORD)
    with session_scope(engine) as s:
        svc.change_password(
            s, user_id=lan_id, current=PASSWORD, new="another-long-phrase", keep_session=keep_id
        )
    with Session(engine) as s:
        left = s.exec(select(AuthSession).where(AuthSession.user_id == lan_id)).all()
        assert [r.id for r in left] == [keep_id]  # the other session and the token ended
        assert [e.action for e in audit.query(s, action="user.change_password").events] == [
            "user.change_password"
        ]
    assert _login(engine, "lan", "another-long-phrase", "10.0.0.9")


def test_a_scoped_admin_manages_only_users_within_its_sites(engine: Any) -> None:
    """Before: an admin scoped to one site set its own scope to all sites, reset a city admin's password
    and listed, created and revoked other sites' users."""
    with session_scope(engine) as s:
        svc.create_user(s, username="admin1", password=PASSWORD, role="admin", site_codes=["S1"])
        svc.create_user(s, username="both", password=PASSWORD, role="viewer", site_codes=["S1", "S2"])
        svc.create_user(s, username="two", password=PASSWORD, role="viewer", site_codes=["S2"])
    with session_scope(engine) as s:
        scope = frozenset(svc.user_site_ids(s, _user(s, "admin1").id or 0))
        ids = {u.username: u.id or 0 for u in s.exec(select(User)).all()}
        assert {r.user.username for r in svc.list_users(s, actor_scope=scope)} == {"admin1", "lan"}
        for name in ("root", "both", "two"):
            with pytest.raises(NotFound):
                svc.get_user(s, ids[name], actor_scope=scope)
            with pytest.raises(NotFound):
                svc.reset_password(s, user_id=ids[name], actor="admin1", actor_scope=scope)
            with pytest.raises(NotFound):
                svc.set_disabled(s, user_id=ids[name], disabled=True, actor="admin1", actor_scope=scope)
        for sites in ([], ["S2"], ["S1", "S2"], ["NO-SUCH-SITE"]):  # the same refusal, known site or not
            with pytest.raises(Forbidden, match="only sites within your own scope: S1"):
                svc.update_user(
                    s,
                    user_id=ids["admin1"],
                    role="admin",
                    site_codes=sites,
                    actor="admin1",
                    actor_scope=scope,
                )
            with pytest.raises(Forbidden):
                svc.create_user(
                    s, username="x1", password=PASSWORD, role="viewer", site_codes=sites, actor_scope=scope
                )
        # Within its own sites it may do what an administrator does, an administrator of S1 included.
        svc.create_user(
            s, username="admin1b", password=PASSWORD, role="admin", site_codes=["S1"], actor_scope=scope
        )
        assert svc.reset_password(s, user_id=ids["lan"], actor="admin1", actor_scope=scope)


def test_audit_events_are_read_within_the_sites_they_concern(engine: Any) -> None:
    with session_scope(engine) as s:
        ids = {site.code: site.id for site in s.exec(select(Site)).all()}
        audit.record(s, actor="a", action="t.s1", sites=[ids["S1"]])
        audit.record(s, actor="a", action="t.s2", sites=[ids["S2"]])
        audit.record(s, actor="a", action="t.both", sites=[ids["S1"], ids["S2"]])
        audit.record(s, actor="a", action="t.city")
    with Session(engine) as s:

        def actions(scope: Any) -> set[str]:
            return {e.action for e in audit.query(s, scope=scope, action="t.").events}

        assert actions(None) == {"t.s1", "t.s2", "t.both", "t.city"}
        assert actions({ids["S1"]}) == {"t.s1"}
        assert actions({ids["S1"], ids["S2"]}) == {"t.s1", "t.s2", "t.both"}
        assert {e.action for e in audit.query(s, site_id=ids["S2"], action="t.").events} == {"t.s2", "t.both"}
        assert "t.city" not in audit.known_actions(s, scope={ids["S1"]})


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
