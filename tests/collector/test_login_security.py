"""Logging in neither leaks nor locks out; failed anonymous attempts are counted, not listed; the
client address cannot be forged with a header; share tokens stay out of the access log.

Run against a SQLite file and, when configured, the real PostgreSQL (the servers use SQLite).
"""

from __future__ import annotations

import logging
import statistics
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from collector.app import create_app
from collector.db import session_scope
from collector.models.core import AuditEvent
from collector.services import throttle
from collector.services.sites import create_site
from collector.services.users import create_user
from collector.serving import uvicorn_options
from collector.settings import CollectorSettings
from tests.helpers import PASSWORD, free_port, seed_site


@pytest.fixture
def users(app: Any) -> Any:
    with session_scope(app.state.engine) as s:
        create_site(s, code="S1", name="Site one")
        create_user(s, username="root", password=PASSWORD, role="admin")
    return app


def _token(client: Any, username: str, password: str) -> httpx.Response:
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


@pytest.mark.usefixtures("real_password_hashing")  # the time measured is argon2's
def test_unknown_user_and_wrong_password_get_the_same_answer_in_the_same_time(
    client: Any, users: Any
) -> None:
    """Before: the API said whether a username existed."""
    wrong = _token(client, "root", "not-the-password")
    unknown = _token(client, "no-such-user", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"detail": "wrong username or password"}
    assert wrong.headers.get("www-authenticate") == unknown.headers.get("www-authenticate")

    def timed(name: str) -> float:
        started = time.perf_counter()
        _token(client, name, "not-the-password")
        return time.perf_counter() - started

    # Each name from its own address pair, so the throttle never answers first.
    known = statistics.median(timed("root") for _ in range(3))
    ghost = statistics.median(timed(f"ghost-{i}") for i in range(3))
    # Without the dummy hash an unknown name answers ~50x faster (no argon2 at all).
    assert ghost > known / 3, (known, ghost)


def test_strangers_cannot_lock_an_admin_out(users: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: five anonymous wrong passwords locked any account, admins included, for 15 minutes."""
    # The first wait is a second; a minute here keeps a slow machine from outwaiting it mid-test.
    monkeypatch.setattr(throttle, "FIRST_DELAY", timedelta(minutes=1))
    stranger = TestClient(users, client=("203.0.113.66", 40000))
    answers = [_token(stranger, "root", f"guess-{i}-guess").status_code for i in range(12)]
    assert answers[: throttle.FREE_FAILURES + 1] == [401] * (throttle.FREE_FAILURES + 1)
    assert 429 in answers
    refused = _token(stranger, "root", PASSWORD)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    admin = TestClient(users, client=("198.51.100.10", 40000))
    assert _token(admin, "root", PASSWORD).status_code == 200


def test_two_hundred_wrong_enroll_secrets_are_counted_on_a_few_rows(client: Any, app: Any) -> None:
    """Before: 200 wrong enroll secrets wrote 200 audit rows (in 13 s)."""
    seed_site(app.state.engine, "S1", "Site one")
    answers = [
        client.post("/api/v1/agents/enroll", json={"secret": f"wwe_wrong{i}", "hostname": "x"}).status_code
        for i in range(200)
    ]
    # Past the per-address limit the address is told to wait instead of being answered.
    assert answers[: throttle.MAX_FAILURES_PER_ADDRESS] == [401] * throttle.MAX_FAILURES_PER_ADDRESS
    assert set(answers[throttle.MAX_FAILURES_PER_ADDRESS :]) == {429}
    with Session(app.state.engine) as s:
        rows = s.exec(select(AuditEvent).where(AuditEvent.address == "testclient")).all()
    by_kind: dict[str, int] = {}
    for row in rows:
        by_kind[row.action] = by_kind.get(row.action, 0) + row.count
    assert by_kind == {throttle.ENROLL_FAILED: 100, throttle.THROTTLED: 100}
    assert len(rows) <= 4  # one per kind and minute (a minute may turn meanwhile)
    # The limit spans kinds: the same address may not go on guessing passwords either.
    assert _token(client, "anyone", "whatever-it-is").status_code == 429


def test_unknown_agent_keys_are_counted_per_address(client: Any, app: Any) -> None:
    for i in range(5):
        r = client.post("/api/v1/reports", content=b"{}", headers={"Authorization": f"Bearer wwa_nope{i}"})
        assert r.status_code == 401
    with Session(app.state.engine) as s:
        rows = s.exec(select(AuditEvent).where(AuditEvent.action == throttle.UNKNOWN_AGENT_KEY)).all()
    assert sum(r.count for r in rows) == 5 and len(rows) <= 2 and rows[0].address == "testclient"


# --- a real server: proxy headers and the access log ---------------------------------------------


def _serve(app: Any) -> Iterator[str]:
    """The app under uvicorn as ``serve`` runs it (uvicorn's own proxy handling off: the app decides)."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="info", **uvicorn_options())
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _sqlite_app(sqlite_url: str, tmp_path: Path, forwarded_allow_ips: str = "") -> Any:
    settings = CollectorSettings(
        database_url=sqlite_url, data_dir=tmp_path / "data", forwarded_allow_ips=forwarded_allow_ips
    )
    app = create_app(settings)
    with session_scope(app.state.engine) as s:
        create_user(s, username="root", password=PASSWORD, role="admin")
    return app


@pytest.fixture
def sqlite_app(sqlite_url: str, tmp_path: Path) -> Iterator[Any]:
    app = _sqlite_app(sqlite_url, tmp_path)
    yield app
    app.state.engine.dispose()


def _failed_from(app: Any) -> set[str | None]:
    with Session(app.state.engine) as s:
        rows = s.exec(select(AuditEvent).where(AuditEvent.action == throttle.LOGIN_FAILED)).all()
    return {r.address for r in rows}


@pytest.mark.parametrize(("trusted", "seen"), [(None, "127.0.0.1"), ("127.0.0.1", "192.0.2.77")])
def test_a_forwarded_for_header_counts_only_from_a_configured_proxy(
    sqlite_url: str, tmp_path: Path, trusted: str | None, seen: str
) -> None:
    """Before: X-Forwarded-For from 127.0.0.1 was believed by default, so the per-address throttle and
    the audit log's addresses could be forged by anything on the machine."""
    sqlite_app = _sqlite_app(sqlite_url, tmp_path, trusted or "")
    for base in _serve(sqlite_app):
        r = httpx.post(
            f"{base}/api/v1/auth/token",
            data={"username": "root", "password": "spoofed-guess-1"},
            headers={"X-Forwarded-For": "192.0.2.77"},
        )
        assert r.status_code == 401
    assert _failed_from(sqlite_app) == {seen}
    sqlite_app.state.engine.dispose()


def test_share_tokens_do_not_reach_the_access_log(sqlite_app: Any) -> None:
    """Before: share-link tokens appeared in serve's access log."""
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    token = "wwl_SeCrEt-share-token-value"
    for base in _serve(sqlite_app):
        keep = Keep()
        logging.getLogger("uvicorn.access").addHandler(keep)
        try:
            assert httpx.get(f"{base}/s/{token}.pdf").status_code == 404
            assert httpx.get(f"{base}/s/{token}").status_code == 404
            assert httpx.get(f"{base}/healthz").status_code == 200
        finally:
            logging.getLogger("uvicorn.access").removeHandler(keep)
    lines = "\n".join(seen)
    assert "/healthz" in lines and "/s/[redacted]" in lines
    assert "SeCrEt" not in lines


# --- several collector processes on one database -------------------------------------------------


def test_throttles_are_shared_by_collectors_on_one_database(
    settings: CollectorSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Behind a load balancer a guesser's requests land on different collectors: each collector must
    see the failures the others counted (a throttle kept per process would give N times the guesses)."""
    monkeypatch.setattr(throttle, "FIRST_DELAY", timedelta(minutes=1))
    apps = [create_app(settings) for _ in range(2)]  # own engines and pools: two processes' worth
    try:
        with session_scope(apps[0].state.engine) as s:
            create_site(s, code="S1", name="Site one")
            create_user(s, username="root", password=PASSWORD, role="admin")
        guesser = [TestClient(a, client=("203.0.113.66", 40000)) for a in apps]
        # Per (user, address): the free failures alternate between the two collectors...
        answers = [_token(guesser[i % 2], "root", f"guess-{i}-guess").status_code for i in range(6)]
        assert answers == [401] * 6
        # ...and the wait the sixth one started holds on both, even with the right password.
        for c in guesser:
            refused = _token(c, "root", PASSWORD)
            assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        # Per address: failures of every kind counted across both collectors reach the one limit.
        prober = [TestClient(a, client=("198.51.100.99", 40000)) for a in apps]
        seed_site(apps[0].state.engine, "S2", "Site two")
        codes = [
            prober[i % 2]
            .post("/api/v1/agents/enroll", json={"secret": f"wwe_wrong{i}", "hostname": "x"})
            .status_code
            for i in range(throttle.MAX_FAILURES_PER_ADDRESS + 2)
        ]
        assert codes[: throttle.MAX_FAILURES_PER_ADDRESS] == [401] * throttle.MAX_FAILURES_PER_ADDRESS
        assert codes[throttle.MAX_FAILURES_PER_ADDRESS :] == [429, 429]
        # The right password from a third address still works on either: nobody else is locked out.
        for a in apps:
            admin = TestClient(a, client=("192.0.2.10", 40000))
            assert _token(admin, "root", PASSWORD).status_code == 200
    finally:
        for a in apps:
            a.state.engine.dispose()
