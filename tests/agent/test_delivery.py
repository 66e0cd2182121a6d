"""Delivery protocol details, with httpx.MockTransport standing in for the network."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import random
import socket
import ssl
import threading
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest

from agent.delivery import Backoff, Deliverer, retry_after_seconds
from agent.errors import AuthError, NotEnrolled, RateLimited, ServerError, TlsError
from agent.spool import Spool
from agent.state import AgentState
from tests.agent.support import agent_settings, small_report


def _setup(tmp_path: Path, n: int = 3, *, agent_id: str = "agent-1", **settings: object):  # type: ignore[no-untyped-def]
    state = tmp_path / "state"
    cfg = agent_settings(state, **settings)
    AgentState(agent_id=agent_id, agent_key="wwa_secret_key", collector_url="http://collector.test").save(
        state
    )
    spool = Spool.in_state_dir(state)
    ids = []
    for _ in range(n):
        rid, body = small_report(agent_id)
        spool.enqueue(body, report_id=rid, agent_id=agent_id)
        ids.append(rid)
    return cfg, spool, ids


def _accept(request: httpx.Request) -> httpx.Response:
    report = json.loads(gzip.decompress(request.content))
    return httpx.Response(
        202, json={"status": "accepted", "duplicate": False, "report_id": report["report_id"]}
    )


def test_sends_gzip_with_the_key_in_order_and_empties_the_spool(tmp_path: Path) -> None:
    cfg, spool, ids = _setup(tmp_path)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _accept(request)

    result = Deliverer(cfg, spool, transport=httpx.MockTransport(handler)).flush()
    assert result.sent == 3 and result.error is None
    assert [json.loads(gzip.decompress(r.content))["report_id"] for r in seen] == ids
    r = seen[0]
    assert r.url.path == "/api/v1/reports"
    assert r.headers["authorization"] == "Bearer wwa_secret_key"
    assert r.headers["content-encoding"] == "gzip"
    assert r.headers["user-agent"].startswith("wardwatch-agent/")
    assert spool.stats().count == 0


def test_duplicate_is_acknowledged(tmp_path: Path) -> None:
    cfg, spool, _ = _setup(tmp_path, 1)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(202, json={"status": "duplicate", "duplicate": True})

    result = Deliverer(cfg, spool, transport=httpx.MockTransport(handler)).flush()
    assert result.duplicates == 1 and spool.stats().count == 0


@pytest.mark.parametrize(
    ("response", "kept"),
    [
        (httpx.Response(200, text="<html>Welcome to the hotel wifi</html>"), True),  # a captive portal
        (httpx.Response(202, text="ok"), True),  # 202 without the collector's acknowledgement
        (httpx.Response(403, text="<html>Forbidden by proxy</html>"), True),  # not the collector's JSON
        (httpx.Response(404, json={"detail": "Not Found"}), True),  # wrong URL: keep, don't drop
        (httpx.Response(422, json={"detail": [{"msg": "bad"}]}), False),  # never acceptable: quarantine
        (httpx.Response(413, json={"detail": "too large"}), False),
        # A proxy's limit (nginx's HTML page): these bytes will never pass either; they must not block.
        (httpx.Response(413, text="<html>413 Request Entity Too Large</html>"), False),
        # A clash with the collector's state, not a verdict on the report: counted, not quarantined.
        (httpx.Response(409, json={"detail": "conflict"}), True),
        (httpx.Response(415, json={"detail": "content-encoding 'gzip' is not supported"}), True),
    ],
)
def test_only_a_real_acknowledgement_removes_a_report(
    tmp_path: Path, response: httpx.Response, kept: bool
) -> None:
    cfg, spool, ids = _setup(tmp_path, 1)
    result = Deliverer(cfg, spool, transport=httpx.MockTransport(lambda r: response)).flush()
    if kept:
        assert spool.peek(1)[0].report_id == ids[0]
        assert result.error is not None and result.error.transient
    else:
        assert spool.stats().count == 0 and spool.stats().quarantined == 1
        assert result.quarantined == 1


def test_413_quarantine_says_how_large_the_report_was(tmp_path: Path) -> None:
    cfg, spool, ids = _setup(tmp_path, 1)
    proxy = httpx.Response(413, text="<html>413 Request Entity Too Large</html>")
    Deliverer(cfg, spool, transport=httpx.MockTransport(lambda r: proxy)).flush()
    (q,) = spool.quarantined()
    assert q.report_id == ids[0] and "too large" in q.reason and "bytes compressed" in q.reason


def _poisoned(poison: set[str], seen: list[str]):  # type: ignore[no-untyped-def]
    """A collector that fails (500) on the reports in ``poison`` and accepts the others."""

    def handler(request: httpx.Request) -> httpx.Response:
        rid = json.loads(gzip.decompress(request.content))["report_id"]
        seen.append(rid)
        if rid in poison:
            return httpx.Response(500, json={"detail": "Internal Server Error"})
        return _accept(request)

    return httpx.MockTransport(handler)


def test_a_report_the_collector_always_fails_on_never_blocks_the_others_and_is_quarantined(
    tmp_path: Path,
) -> None:
    cfg, spool, ids = _setup(tmp_path, 3)
    seen: list[str] = []
    deliverer = Deliverer(cfg, spool, transport=_poisoned({ids[0]}, seen))
    first = deliverer.flush()
    assert first.sent == 2 and seen == ids  # the reports behind it went
    assert isinstance(first.error, ServerError)  # it waits: the agent backs off before trying again
    assert [i.report_id for i in spool.peek(10)] == [ids[0]]
    assert deliverer.flush().sent == 0  # alone, its 500 proves nothing: no strike
    for strike in (2, 3):  # each time behind another report the collector takes
        rid, body = small_report("agent-1")
        spool.enqueue(body, report_id=rid, agent_id="agent-1")
        result = deliverer.flush()
        assert result.sent == 1 and result.quarantined == (strike == 3)
    assert result.error is None
    assert spool.stats().count == 0
    (q,) = spool.quarantined()
    assert q.report_id == ids[0] and "3 times" in q.reason and "500" in q.reason


def test_a_collector_failing_on_everything_quarantines_nothing(tmp_path: Path) -> None:
    cfg, spool, ids = _setup(tmp_path, 3)
    seen: list[str] = []
    deliverer = Deliverer(cfg, spool, transport=_poisoned(set(ids), seen))
    for _ in range(5):
        result = deliverer.flush()
        assert isinstance(result.error, ServerError) and result.sent == 0
    assert seen == ids[:2] * 5  # the second 500 in a row ends the flush
    assert spool.stats().quarantined == 0 and [i.report_id for i in spool.peek(10)] == ids


def test_needs_full_drops_the_delta_and_says_so(tmp_path: Path) -> None:
    cfg, spool, _ = _setup(tmp_path, 2)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(409, json={"detail": "base unknown", "needs_full": True})

    result = Deliverer(cfg, spool, transport=httpx.MockTransport(handler)).flush()
    assert result.needs_full and spool.stats().count == 0 and spool.stats().quarantined == 0


def test_429_and_503_carry_retry_after(tmp_path: Path) -> None:
    cfg, spool, _ = _setup(tmp_path, 1)
    for code in (429, 503):

        def handler(r: httpx.Request, code: int = code) -> httpx.Response:
            return httpx.Response(code, headers={"Retry-After": "17"}, json={"detail": "busy"})

        result = Deliverer(cfg, spool, transport=httpx.MockTransport(handler)).flush()
        assert isinstance(result.error, RateLimited) and result.error.retry_after == 17
        backoff = Backoff(base=1, cap=5, retry_after_max=3600)
        assert backoff.next_delay(result.error.retry_after) == 17  # the collector's word beats the cap
    assert spool.stats().count == 1


def test_retry_after_http_date() -> None:
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=120)
    assert 100 < (retry_after_seconds(format_datetime(when, usegmt=True)) or 0) <= 120
    assert retry_after_seconds("soon") is None


def test_backoff_is_full_jitter_and_capped() -> None:
    b = Backoff(base=1, cap=30, retry_after_max=60, rng=random.Random(1))
    delays = [b.next_delay() for _ in range(12)]
    ceilings = [min(30, 2**i) for i in range(12)]
    assert all(0 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert max(delays[6:]) > 5  # it grows...
    assert (
        Backoff(base=1, cap=30, retry_after_max=60).next_delay(7200) == 60
    )  # ...and a huge Retry-After is clipped
    b.reset()
    assert b.next_delay() <= 1


def test_401_re_enrolls_once_and_readdresses_waiting_reports(tmp_path: Path) -> None:
    cfg, spool, ids = _setup(tmp_path, 2, enroll_secret="wwe_enroll", collector_url="http://collector.test")
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/agents/enroll":
            calls.append("enroll")
            assert json.loads(request.content)["secret"] == "wwe_enroll"
            return httpx.Response(201, json={"agent_id": "agent-2", "agent_key": "wwa_new", "site": "t1"})
        if request.headers["authorization"] != "Bearer wwa_new":
            return httpx.Response(401, json={"detail": "unknown agent key"})
        report = json.loads(gzip.decompress(request.content))
        calls.append(report["agent_id"])
        return _accept(request)

    result = Deliverer(cfg, spool, transport=httpx.MockTransport(handler)).flush()
    assert result.error is None and result.reenrolled and result.sent == 2
    assert calls == ["enroll", "agent-2", "agent-2"]
    assert AgentState.load(cfg.state_dir).agent_id == "agent-2"  # type: ignore[union-attr]
    assert ids


def test_401_without_an_enroll_secret_is_an_auth_error(tmp_path: Path) -> None:
    cfg, spool, _ = _setup(tmp_path, 1)
    handler = lambda r: httpx.Response(401, json={"detail": "agent key revoked"})  # noqa: E731
    result = Deliverer(cfg, spool, transport=httpx.MockTransport(handler)).flush()
    assert isinstance(result.error, AuthError) and "revoked" in str(result.error)
    assert spool.stats().count == 1


def test_not_enrolled_says_how_to_enroll(tmp_path: Path) -> None:
    cfg = agent_settings(tmp_path / "state")
    spool = Spool.in_state_dir(cfg.state_dir)
    result = Deliverer(cfg, spool).flush()
    assert isinstance(result.error, NotEnrolled) and "wardwatch agent enroll" in str(result.error)


# -- TLS against a real local server -------------------------------------------------------------


@pytest.fixture
def tls_server(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A TLS server with a self-signed certificate on 127.0.0.1 that records what it receives."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "collector.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = tmp_path / "cert.pem"
    key_pem = tmp_path / "key.pem"
    cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_pem, key_pem)
    sock = socket.create_server(("127.0.0.1", 0))
    received: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            try:
                with ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.settimeout(2)
                    data = b""
                    while b"\r\n\r\n" not in data:
                        chunk = tls.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    head, _, rest = data.partition(b"\r\n\r\n")
                    length = 0
                    for line in head.split(b"\r\n"):
                        if line.lower().startswith(b"content-length:"):
                            length = int(line.split(b":")[1])
                    while len(rest) < length:
                        chunk = tls.recv(65536)
                        if not chunk:
                            break
                        rest += chunk
                    received.append(data)
                    body = b'{"status":"duplicate","duplicate":true}'
                    tls.sendall(
                        b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nConnection: close\r\n"
                        + f"Content-Length: {len(body)}\r\n\r\n".encode()
                        + body
                    )
            except (OSError, ssl.SSLError):
                pass

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    fingerprint = cert.fingerprint(hashes.SHA256()).hex()
    yield f"https://localhost:{sock.getsockname()[1]}", fingerprint, cert_pem, received
    stop.set()
    t.join(timeout=2)
    sock.close()


def test_tls_is_verified_by_default(tmp_path: Path, tls_server) -> None:  # type: ignore[no-untyped-def]
    url, _, _, received = tls_server
    cfg, spool, _ = _setup(tmp_path, 1, collector_url=url)
    result = Deliverer(cfg, spool).flush()
    assert isinstance(result.error, TlsError) and spool.stats().count == 1
    assert not any(b"Bearer" in r for r in received)


def test_a_private_ca_bundle_is_trusted(tmp_path: Path, tls_server) -> None:  # type: ignore[no-untyped-def]
    url, _, cert_pem, _ = tls_server
    cfg, spool, _ = _setup(tmp_path, 1, collector_url=url, ca_bundle=cert_pem)
    assert Deliverer(cfg, spool).flush().delivered == 1


def test_a_pinned_certificate_is_trusted_and_a_wrong_pin_sends_nothing(tmp_path: Path, tls_server) -> None:  # type: ignore[no-untyped-def]
    url, fingerprint, _, received = tls_server
    cfg, spool, _ = _setup(
        tmp_path,
        1,
        collector_url=url,
        pinned_cert_sha256=":".join(fingerprint[i : i + 2] for i in range(0, 64, 2)),
    )
    assert Deliverer(cfg, spool).flush().delivered == 1
    assert any(b"Bearer wwa_secret_key" in r for r in received)
    received.clear()
    cfg2, spool2, _ = _setup(tmp_path / "b", 1, collector_url=url, pinned_cert_sha256="ab" * 32)
    result = Deliverer(cfg2, spool2).flush()
    assert isinstance(result.error, TlsError) and "pinned" in str(result.error)
    assert not any(b"Bearer" in r for r in received) and spool2.stats().count == 1


def test_proxy_from_the_environment_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A proxy that nobody listens on: the error names the proxy, proving it was used.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    cfg, spool, _ = _setup(tmp_path, 1, collector_url="http://collector.invalid")
    result = Deliverer(cfg, spool).flush()
    assert result.error is not None and result.error.transient
    assert spool.stats().count == 1


def test_a_duplicate_of_an_older_report_does_not_move_the_baseline_back(tmp_path: Path) -> None:
    # A salvaged spool can send a report the collector took long ago: it answers "duplicate", and
    # what it holds is still the newer report the baseline names.
    from types import SimpleNamespace

    from agent.state import Baseline, update_baseline

    state = tmp_path / "state"
    state.mkdir()

    def item(rid: str, created_at: float) -> SimpleNamespace:
        return SimpleNamespace(
            subject="host", kind="full", report_id=rid, sections={"os": rid * 2}, created_at=created_at
        )

    update_baseline(state, item("new", 2000.0), "accepted")
    update_baseline(state, item("old", 1000.0), "duplicate")
    assert Baseline.load(state).report_id == "new"
    update_baseline(state, item("lost-ack", 3000.0), "duplicate")  # its acknowledgement was lost
    assert Baseline.load(state).report_id == "lost-ack"
    update_baseline(state, item("late", 1500.0), "accepted")  # stored just now: the collector holds it
    assert Baseline.load(state).report_id == "late"
