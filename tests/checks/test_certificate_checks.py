"""The certificate checks through the real runner: per-target results and severity windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from checks.catalog import load_catalog
from checks.runner import run_check, run_checks
from inventory.certificates.facts import (
    CertificateFacts,
    CertificateValidation,
    CertLocation,
    FoundCertificate,
    LocationKind,
    RevocationState,
    TlsEndpointResult,
    ValidationStatus,
)
from inventory.facts import Facts
from inventory.report import CheckStatus

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


def cert(days_left: int, sha: str = "a") -> FoundCertificate:
    return FoundCertificate(
        sha256=sha * 64,
        subject="CN=Tran Thi Binh,O=UBND phuong Cua Nam,C=VN",
        subject_cn="Tran Thi Binh",
        issuer="CN=VNPT-CA SHA2",
        serial="01",
        not_before=NOW - timedelta(days=300),
        not_after=NOW + timedelta(days=days_left, hours=1),
        key_type="rsa",
        key_size=2048,
        signature_algorithm="sha256WithRSAEncryption",
        signature_hash="sha256",
        key_usage=["digitalSignature", "nonRepudiation"],
        location=CertLocation(kind=LocationKind.PKCS11, path="VNPT-CA Token"),
        key_on_token=True,
        validation=CertificateValidation(
            status=ValidationStatus.VALID, trusted=True, revocation=RevocationState.GOOD, key_usage_ok=True
        ),
    )


@pytest.mark.parametrize(
    ("days", "status", "severity"),
    [
        (90, "pass", None),
        (60, "fail", "low"),
        (45, "fail", "low"),
        (30, "fail", "medium"),
        (7, "fail", "high"),
        (1, "fail", "high"),
    ],
)
def test_signing_expiry_windows(days: int, status: str, severity: str | None) -> None:
    check = load_catalog()["cert.signing.expiring"]
    [r] = run_check(check, Facts(certificates=CertificateFacts(certificates=[cert(days)])), now=NOW)
    assert r.status.value == status
    assert r.observed.get("severity") == severity
    assert r.target == "Tran Thi Binh [aaaaaaaaaaaaaaaa]"


@pytest.mark.parametrize(("days", "severity"), [(40, None), (30, "medium"), (14, "high"), (3, "high")])
def test_tls_expiry_windows(days: int, severity: str | None) -> None:
    ep = TlsEndpointResult(
        target="https://motcua.gov.vn",
        host="motcua.gov.vn",
        port=443,
        scheme="https",
        reachable=True,
        leaf=cert(days),
    )
    [r] = run_check(
        load_catalog()["cert.tls.expiring"], Facts(certificates=CertificateFacts(tls_endpoints=[ep])), now=NOW
    )
    assert r.observed.get("severity") == severity
    assert r.status is (CheckStatus.PASS if severity is None else CheckStatus.FAIL)


def test_catalog_severities_match_the_issue() -> None:
    cat = load_catalog()
    want = {
        "cert.signing.validity": "critical",
        "cert.signing.revocation": "critical",
        "doc.signature.integrity": "critical",
        "cert.signing.trust": "high",
        "cert.tls.trust": "high",
        "cert.signing.revocation_status": "high",
        "cert.signing.key_size": "high",
        "cert.tls.key_size": "high",
        "cert.signing.sha1": "medium",
        "cert.signing.expiring": "low",
        "cert.tls.expiring": "medium",
        "cert.tls.legacy_protocols": "high",
        "cert.tls.hsts": "low",
    }
    assert {k: cat[k].severity.value for k in want} == want
    assert all(c.module == "certs" for c in cat.values() if c.id.startswith(("cert.", "doc.")))


def test_run_checks_for_the_certs_module_gives_one_result_per_certificate() -> None:
    facts = Facts(certificates=CertificateFacts(certificates=[cert(100, "a"), cert(5, "b")]))
    results = [
        r for r in run_checks(facts, modules=["certs"], now=NOW) if r.check_id == "cert.signing.expiring"
    ]
    assert sorted(r.status.value for r in results) == ["fail", "pass"]
    assert len({r.target for r in results}) == 2
