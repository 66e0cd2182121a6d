"""HTTPS served by `wardwatch serve --tls-cert/--tls-key`, and mutual TLS for agents.

A real server certificate (made here) and the collector's own agent CA; the agent's real delivery
code enrolls with a certificate request, delivers with its client certificate, renews it with its key
alone, and is refused without a valid, unrevoked certificate.
"""

from __future__ import annotations

import ssl
import stat
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509

from agent import client_cert
from agent.delivery import Deliverer, enroll, renew_client_cert
from agent.errors import CertificateRefused
from agent.spool import Spool
from collector.db import make_engine, session_scope
from tests.agent.support import agent_settings, small_report
from tests.e2e.deploy.support import Served, ServerPki, make_server_pki, wardwatch_serve
from tests.helpers import seed_site


@pytest.fixture(scope="module")
def mtls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, ServerPki, Any]]:
    root = tmp_path_factory.mktemp("mtls")
    pki = make_server_pki(root / "pki")
    verify = ssl.create_default_context(cafile=str(pki.ca))
    args = ("--tls-cert", str(pki.cert), "--tls-key", str(pki.key), "--require-client-cert")
    with wardwatch_serve(root / "data", *args, verify=verify) as served:
        engine = make_engine(f"sqlite:///{root / 'data' / 'wardwatch.db'}")
        yield served, pki, engine
        engine.dispose()


def _agent(mtls: Any, tmp_path: Path, name: str) -> tuple[Any, Any, Spool]:
    served, pki, engine = mtls
    secret = seed_site(engine)
    state = tmp_path / name
    settings = agent_settings(state, collector_url=served.url, ca_bundle=pki.ca)
    ident = enroll(settings, collector_url=served.url, secret=secret, hostname=name, state_dir=state)
    ident.save(state)
    spool = Spool.in_state_dir(state)
    return settings, ident, spool


def _queue(spool: Spool, agent_id: str, hostname: str) -> str:
    rid, body = small_report(agent_id, hostname=hostname, kind="full")
    spool.enqueue(body, report_id=rid, agent_id=agent_id)
    return rid


def test_https_is_served_with_hsts_and_secure_cookies(mtls: Any) -> None:
    served, pki, _ = mtls
    answer = httpx.get(f"{served.url}/login", verify=ssl.create_default_context(cafile=str(pki.ca)))
    assert answer.status_code == 200
    assert answer.headers["strict-transport-security"].startswith("max-age=")
    assert answer.headers.get_list("set-cookie") and all(
        "; secure" in c.lower() for c in answer.headers.get_list("set-cookie")
    )
    # The TLS port speaks no plain http.
    with pytest.raises(httpx.TransportError):
        httpx.get(served.url.replace("https://", "http://") + "/healthz", timeout=3)


def test_an_enrolled_agent_delivers_with_its_client_certificate(mtls: Any, tmp_path: Path) -> None:
    settings, ident, spool = _agent(mtls, tmp_path, "pc-mtls-01")
    saved = tmp_path / "pc-mtls-01" / client_cert.CLIENT_FILE
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    cert = x509.load_pem_x509_certificate(saved.read_bytes())
    assert f"urn:wardwatch:agent:{ident.agent_id}" in str(cert.extensions)
    _queue(spool, ident.agent_id, "pc-mtls-01")
    result = Deliverer(settings, spool).flush()
    assert result.error is None and result.delivered == 1 and spool.stats().count == 0


def test_a_report_without_a_certificate_is_refused_and_kept(mtls: Any, tmp_path: Path) -> None:
    served, pki, _ = mtls
    settings, ident, spool = _agent(mtls, tmp_path, "pc-mtls-02")
    (tmp_path / "pc-mtls-02" / client_cert.CLIENT_FILE).unlink()
    _queue(spool, ident.agent_id, "pc-mtls-02")
    result = Deliverer(settings, spool).flush()
    assert isinstance(result.error, CertificateRefused)
    assert "requires a client certificate" in str(result.error)
    assert spool.stats().count == 1 and spool.stats().quarantined == 0
    # The same refusal, as any client sees it.
    answer = httpx.post(
        f"{served.url}/api/v1/reports",
        content=b"{}",
        headers={"Authorization": f"Bearer {ident.agent_key}"},
        verify=ssl.create_default_context(cafile=str(pki.ca)),
    )
    assert answer.status_code == 401 and answer.headers["x-wardwatch-agent"] == "certificate"


def test_another_agents_certificate_is_refused(mtls: Any, tmp_path: Path) -> None:
    settings_a, ident_a, spool_a = _agent(mtls, tmp_path, "pc-mtls-03")
    _settings_b, _ident_b, _ = _agent(mtls, tmp_path, "pc-mtls-04")
    # Agent A's key with agent B's certificate.
    (tmp_path / "pc-mtls-03" / client_cert.CLIENT_FILE).write_bytes(
        (tmp_path / "pc-mtls-04" / client_cert.CLIENT_FILE).read_bytes()
    )
    _queue(spool_a, ident_a.agent_id, "pc-mtls-03")
    result = Deliverer(settings_a, spool_a).flush()
    assert isinstance(result.error, CertificateRefused) and "another agent" in str(result.error)


def test_a_revoked_certificate_is_refused_and_listed_on_the_crl(mtls: Any, tmp_path: Path) -> None:
    served, pki, engine = mtls
    settings, ident, spool = _agent(mtls, tmp_path, "pc-mtls-05")
    serial = x509.load_pem_x509_certificate(
        (tmp_path / "pc-mtls-05" / client_cert.CLIENT_FILE).read_bytes()
    ).serial_number
    from collector.services.enrollment import revoke_agent

    with session_scope(engine) as session:
        revoke_agent(session, ident.agent_id, actor="admin")
    _queue(spool, ident.agent_id, "pc-mtls-05")
    result = Deliverer(settings, spool).flush()
    assert result.error is not None and "revoked" in str(result.error) and spool.stats().count == 1

    verify = ssl.create_default_context(cafile=str(pki.ca))
    crl = x509.load_pem_x509_crl(httpx.get(f"{served.url}/api/v1/agents/crl.pem", verify=verify).content)
    ca = x509.load_pem_x509_certificate(
        httpx.get(f"{served.url}/api/v1/agents/ca.pem", verify=verify).content
    )
    assert crl.is_signature_valid(ca.public_key())  # type: ignore[arg-type]
    assert crl.get_revoked_certificate_by_serial_number(serial) is not None


def test_a_revoked_certificate_of_a_live_agent_is_refused(mtls: Any, tmp_path: Path) -> None:
    _served, _pki, engine = mtls
    settings, ident, spool = _agent(mtls, tmp_path, "pc-mtls-06")
    from collector.services.agent_certs import revoke_for_agent

    with session_scope(engine) as session:
        assert revoke_for_agent(session, ident.agent_id, reason="key compromise") == 1
    _queue(spool, ident.agent_id, "pc-mtls-06")
    result = Deliverer(settings, spool).flush()
    assert isinstance(result.error, CertificateRefused) and "revoked (key compromise)" in str(result.error)


def test_an_agent_renews_before_expiry_without_an_enroll_secret(mtls: Any, tmp_path: Path) -> None:
    served, _pki, engine = mtls
    settings, ident, spool = _agent(mtls, tmp_path, "pc-mtls-07")
    assert settings.enroll_secret is None
    state = tmp_path / "pc-mtls-07"
    first = client_cert.load(state)
    assert first is not None and not first.due()
    assert renew_client_cert(settings, collector_url=served.url, ident=ident, state_dir=state, hostname="pc")
    second = client_cert.load(state)
    assert second is not None and second.not_after >= first.not_after

    # A certificate with less than a third of its life left is renewed by the next delivery by itself.
    from cryptography.hazmat.primitives import serialization

    from collector import agent_ca
    from collector.models.agent_certs import AgentCertificate
    from collector.models.types import utcnow
    from collector.services.agent_certs import fingerprint

    pending = client_cert.new_key("pc")
    ca = agent_ca.load_or_create(served.data_dir)
    old = ca.sign_csr(
        pending.csr_pem.encode(), agent_id=ident.agent_id, days=61, now=utcnow() - timedelta(days=60)
    )
    with session_scope(engine) as session:
        session.add(
            AgentCertificate(
                agent_id=ident.agent_id,
                serial=format(old.serial_number, "x"),
                fingerprint=fingerprint(old.public_bytes(serialization.Encoding.DER)),
                not_after=old.not_valid_after_utc,
            )
        )
    client_cert.save(state, pending, old.public_bytes(serialization.Encoding.PEM).decode(), None)
    assert client_cert.load(state).due()  # type: ignore[union-attr]
    _queue(spool, ident.agent_id, "pc-mtls-07")
    result = Deliverer(settings, spool).flush()
    assert result.error is None and result.delivered == 1
    renewed = client_cert.load(state)
    assert renewed is not None and not renewed.due() and renewed.not_after > old.not_valid_after_utc


def test_require_client_cert_without_tls_is_refused_at_start(tmp_path: Path) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "collector.cli",
            "serve",
            "--data-dir",
            str(tmp_path),
            "--require-client-cert",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "--require-client-cert needs TLS" in done.stderr


def test_up_serves_https_and_its_local_agent_reports_over_it(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    from tests.e2e.deploy.support import wait_until
    from tests.helpers import free_port

    pki = make_server_pki(tmp_path / "pki")
    port = free_port()
    data = tmp_path / "wardwatch-data"
    env = {**os.environ, "WARDWATCH_ADMIN_PASSWORD": "first-run-password"}
    cmd = [sys.executable, "-m", "collector.cli", "up", "--port", str(port), "--data-dir", str(data),
           "--tls-cert", str(pki.cert), "--tls-key", str(pki.key)]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"https://127.0.0.1:{port}"
    verify = ssl.create_default_context(cafile=str(pki.ca))
    try:

        def ok() -> bool:
            try:
                return httpx.get(f"{base}/healthz", verify=verify, timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(ok, 60, "the collector over https")
        token = httpx.post(
            f"{base}/api/v1/auth/token",
            data={"username": "admin", "password": "first-run-password"},
            verify=verify,
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        wait_until(
            lambda: httpx.get(f"{base}/api/v1/devices", headers=headers, verify=verify).json(),
            90,
            "the local agent's first report over https",
        )
        assert (data / "agent" / client_cert.CLIENT_FILE).exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=30)[0]
    assert f"wardwatch collector: {base}" in out
