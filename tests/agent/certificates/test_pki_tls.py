"""TLS endpoint probing against real TLS servers on 127.0.0.1, one per case."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.certificates.tls import can_offer, probe
from agent.certificates.trust import TrustSet
from inventory.certificates.facts import TlsEndpointResult
from tests.pki_factory import Pki, TlsServer, dead_port


@pytest.fixture
def serve(tmp_path: Path) -> Iterator:  # type: ignore[type-arg]
    servers: list[TlsServer] = []

    def start(chain, **kw) -> TlsServer:  # type: ignore[no-untyped-def]
        s = TlsServer(chain, tmp_path, **kw)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.close()


def check(pki: Pki, target: str, *, pinned: bool = True) -> TlsEndpointResult:
    trust = TrustSet(anchors=[pki.root.cert] if pinned else [])
    return probe(target, trust, timeout=5, system_roots=[])


def test_valid_endpoint(pki: Pki, serve) -> None:  # type: ignore[no-untyped-def]
    s = serve([pki.tls["valid"], pki.inter])
    r = check(pki, s.target)
    assert r.reachable and r.verified, r.verify_error
    assert r.hostname_matches is True
    assert r.chain_complete is True
    assert len(r.chain_sent_sha256) == 2
    assert 360 <= (r.days_to_expiry or 0) <= 366
    assert r.leaf and r.leaf.key_type == "rsa" and r.leaf.key_size == 2048
    assert r.leaf.signature_algorithm == "sha256WithRSAEncryption"
    assert r.protocol == "TLSv1.3"
    assert r.tls10_accepted is False and r.tls11_accepted is False
    assert r.hsts is None, "a bare host:port that is not 443 is not treated as HTTPS"


def test_root_not_pinned_is_not_verified(pki: Pki, serve) -> None:  # type: ignore[no-untyped-def]
    s = serve([pki.tls["valid"], pki.inter])
    r = check(pki, s.target, pinned=False)
    assert r.verified is False
    assert "unable to get local issuer certificate" in (r.verify_error or "")


@pytest.mark.parametrize(
    ("case", "error"),
    [("expired", "certificate has expired"), ("not_yet_valid", "certificate is not yet valid")],
)
def test_out_of_validity(pki: Pki, serve, case: str, error: str) -> None:  # type: ignore[no-untyped-def]
    s = serve([pki.tls[case], pki.inter])
    r = check(pki, s.target)
    assert r.verified is False and error in (r.verify_error or "")
    assert (r.days_to_expiry or 0) < 0 if case == "expired" else (r.days_to_expiry or 0) > 300


def test_hostname_mismatch(pki: Pki, serve) -> None:  # type: ignore[no-untyped-def]
    s = serve([pki.tls["hostname_mismatch"], pki.inter])
    r = check(pki, s.target)
    assert r.verified is True, "the chain itself is fine"
    assert r.hostname_matches is False


def test_hostname_by_name_matches(pki: Pki, serve) -> None:  # type: ignore[no-untyped-def]
    s = serve([pki.tls["valid"], pki.inter])
    r = check(pki, f"localhost:{s.port}")
    assert r.hostname_matches is True


def test_missing_intermediate_chain_incomplete(pki: Pki, serve) -> None:  # type: ignore[no-untyped-def]
    s = serve([pki.tls["valid"]])  # the server forgets its intermediate
    r = check(pki, s.target)
    assert r.chain_complete is False
    assert r.verified is False
    assert len(r.chain_sent_sha256) == 1


def test_untrusted_root(pki: Pki, serve) -> None:  # type: ignore[no-untyped-def]
    s = serve([pki.tls["untrusted_root"], pki.other_inter, pki.other_root])
    r = check(pki, s.target)
    assert r.verified is False
    assert "self-signed certificate in certificate chain" in (r.verify_error or "")
    assert r.chain_complete is True, "complete as sent, just not trusted"


def test_sha1_and_rsa1024_leaves_are_described(pki: Pki, serve) -> None:  # type: ignore[no-untyped-def]
    a = check(pki, serve([pki.tls["sha1"], pki.inter]).target)
    b = check(pki, serve([pki.tls["rsa1024"], pki.inter]).target)
    assert a.leaf and a.leaf.signature_hash == "sha1"
    assert b.leaf and b.leaf.key_size == 1024
    assert a.verified is False and b.verified is False, "OpenSSL's default security level refuses both"


def test_tls10_accepted(pki: Pki, serve) -> None:  # type: ignore[no-untyped-def]
    if not can_offer(ssl.TLSVersion.TLSv1):
        pytest.skip("this machine's OpenSSL cannot offer TLS 1.0 (built without it or policy forbids it)")
    s = serve([pki.tls["valid"], pki.inter], minimum=ssl.TLSVersion.TLSv1)
    r = check(pki, s.target)
    if r.tls10_accepted is None:
        pytest.skip("local OpenSSL refused to offer TLS 1.0")
    assert r.tls10_accepted is True
    assert r.tls11_accepted is True


def test_hsts_present_and_missing(pki: Pki, serve) -> None:  # type: ignore[no-untyped-def]
    with_hsts = serve([pki.tls["valid"], pki.inter], hsts="max-age=31536000; includeSubDomains")
    without = serve([pki.tls["valid"], pki.inter])
    r1 = check(pki, f"https://127.0.0.1:{with_hsts.port}/portal")
    r2 = check(pki, f"https://127.0.0.1:{without.port}/")
    assert r1.hsts is True and "max-age=31536000" in (r1.hsts_header or "") and r1.http_status == 200
    assert r2.hsts is False


def test_unreachable(pki: Pki) -> None:
    r = check(pki, f"127.0.0.1:{dead_port()}")
    assert r.reachable is False and "cannot connect" in (r.error or "")


def test_tls12_only_server_chain_read(pki: Pki, serve) -> None:  # type: ignore[no-untyped-def]
    s = serve([pki.tls["valid"], pki.inter], maximum=ssl.TLSVersion.TLSv1_2)
    r = check(pki, s.target)
    assert r.protocol == "TLSv1.2" and r.chain_complete is True


def test_tls13_only_server_still_judged(pki: Pki, serve) -> None:  # type: ignore[no-untyped-def]
    s = serve([pki.tls["valid"], pki.inter], minimum=ssl.TLSVersion.TLSv1_3)
    r = check(pki, s.target)
    assert r.verified is True and r.leaf is not None
    assert r.chain_complete is None, "a TLS 1.3-only server's chain is encrypted: not judged"
