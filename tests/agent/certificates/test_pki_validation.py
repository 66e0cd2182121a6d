"""Signing-certificate validation against a real generated PKI, CRLs served over real HTTP."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent.certificates.revocation import CrlStore
from agent.certificates.trust import TrustSet
from agent.certificates.validate import SigningValidator
from inventory.certificates.facts import CertificateValidation, RevocationState, ValidationStatus
from tests.pki_factory import DAY, Pki


def run(
    pki: Pki,
    case: str,
    *,
    legacy_sha1: bool = False,
    with_intermediate: bool = True,
    cache: Path | None = None,
) -> CertificateValidation:
    trust = TrustSet(anchors=[pki.root.cert])
    others = [pki.inter.cert] if with_intermediate else []
    if case == "untrusted_root":
        others += [pki.other_inter.cert, pki.other_root.cert]  # type: ignore[union-attr]
    validator = SigningValidator(
        trust, other_certs=others, crl_store=CrlStore(cache), legacy_sha1=legacy_sha1, fetch_timeout=5
    )

    async def go() -> CertificateValidation:
        async with validator.session():
            return await validator.validate(pki.leaves[case].cert)

    return asyncio.run(go())


def test_valid_certificate_is_valid_with_revocation_checked(pki: Pki, tmp_path: Path) -> None:
    v = run(pki, "valid", cache=tmp_path)
    assert v.status is ValidationStatus.VALID, v.reasons
    assert v.trusted is True
    assert v.revocation is RevocationState.GOOD
    assert v.anchor_sha256 and len(v.chain_sha256) == 3
    assert list(tmp_path.glob("*.crl")), "the fetched CRLs are cached for the next run"


@pytest.mark.parametrize(
    ("case", "status", "words"),
    [
        ("expired", ValidationStatus.EXPIRED, "expired on"),
        ("not_yet_valid", ValidationStatus.NOT_YET_VALID, "not valid before"),
        ("revoked", ValidationStatus.REVOKED, "revoked"),
        ("crl_unreachable", ValidationStatus.REVOCATION_UNKNOWN, "revocation status unknown"),
        ("wrong_key_usage", ValidationStatus.BAD_KEY_USAGE, "neither nonRepudiation nor digitalSignature"),
        ("sha1", ValidationStatus.WEAK_ALGORITHM, "SHA-1"),
        ("untrusted_root", ValidationStatus.UNTRUSTED, "root that is not trusted: Unknown Root CA"),
    ],
)
def test_problem_certificates(pki: Pki, case: str, status: ValidationStatus, words: str) -> None:
    v = run(pki, case)
    assert v.status is status, v.reasons
    assert any(words.lower() in r.lower() for r in v.reasons), v.reasons


def test_unreachable_crl_is_never_valid(pki: Pki) -> None:
    v = run(pki, "crl_unreachable")
    assert v.revocation is RevocationState.UNKNOWN
    assert v.status is not ValidationStatus.VALID


def test_revoked_certificate_carries_date_and_reason(pki: Pki) -> None:
    v = run(pki, "revoked")
    assert v.revocation is RevocationState.REVOKED
    assert v.revoked_at is not None and v.revoked_at.date() == pki.revoked_at.date()
    assert v.trusted is False


def test_missing_intermediate_is_untrusted_and_named(pki: Pki) -> None:
    v = run(pki, "missing_intermediate", with_intermediate=False)
    assert v.status is ValidationStatus.UNTRUSTED
    assert any("missing intermediate" in r and "WW Test Signing CA" in r for r in v.reasons), v.reasons


def test_sha1_accepted_in_legacy_mode_but_still_reported(pki: Pki) -> None:
    v = run(pki, "sha1", legacy_sha1=True)
    assert v.status is ValidationStatus.VALID, v.reasons
    assert v.sha1 and v.legacy_sha1
    assert any("legacy mode" in r for r in v.reasons)


def test_rsa_1024_validates_as_a_path_and_is_left_to_the_key_size_check(pki: Pki) -> None:
    v = run(pki, "rsa1024")
    assert v.trusted is True, v.reasons


def test_offline_crl_file_is_used_without_network(pki: Pki, tmp_path: Path) -> None:
    from tests.pki_factory import Revoked, make_crl

    inter_crl = tmp_path / "inter.crl"
    inter_crl.write_bytes(
        make_crl(pki.inter, [Revoked(pki.leaves["valid"].cert.serial_number, pki.revoked_at)])
    )
    root_crl = tmp_path / "root.crl"
    root_crl.write_bytes(make_crl(pki.root))
    hits_before = len(pki.server.hits)
    validator = SigningValidator(
        TrustSet(anchors=[pki.root.cert]),
        other_certs=[pki.inter.cert],
        crl_store=CrlStore(None, [inter_crl, root_crl]),
    )

    async def go() -> CertificateValidation:
        async with validator.session():
            return await validator.validate(pki.leaves["valid"].cert)

    v = asyncio.run(go())
    # The offline CRL (which revokes this certificate) wins over the server's (which does not).
    assert v.status is ValidationStatus.REVOKED
    assert len(pki.server.hits) == hits_before


# ---- OCSP: a real responder on the test HTTP server, answers cached until their nextUpdate ----------


def _ocsp_leaves(pki: Pki) -> dict[str, Any]:
    from tests.pki_factory import dead_port, issue, ocsp_responder

    url = pki.server.url("/ocsp")
    leaves = {
        "good": issue("Truong Van M", issuer=pki.inter, ocsp_url=url),
        "revoked": issue("Mai Thi N", issuer=pki.inter, ocsp_url=url, not_before=pki.revoked_at - 30 * DAY),
        "unreachable": issue("Cao Van O", issuer=pki.inter, ocsp_url=f"http://127.0.0.1:{dead_port()}/ocsp"),
    }
    pki.server.posts["/ocsp"] = ocsp_responder(
        pki.inter, list(leaves.values()), {leaves["revoked"].cert.serial_number: pki.revoked_at}
    )
    return leaves


def _validate(pki: Pki, cert: Any, cache: Path | None, *, ocsp: bool = True) -> CertificateValidation:
    validator = SigningValidator(
        TrustSet(anchors=[pki.root.cert]),
        other_certs=[pki.inter.cert],
        crl_store=CrlStore(cache),
        fetch_timeout=5,
        ocsp=ocsp,
    )

    async def go() -> CertificateValidation:
        async with validator.session():
            return await validator.validate(cert)

    return asyncio.run(go())


def test_ocsp_good_answer_is_valid_and_cached_for_the_next_run(pki: Pki, tmp_path: Path) -> None:
    leaf = _ocsp_leaves(pki)["good"]
    v = _validate(pki, leaf.cert, tmp_path)
    assert v.status is ValidationStatus.VALID, v.reasons
    assert v.revocation is RevocationState.GOOD
    assert list(tmp_path.glob("*.ocsp")), "the OCSP answer is cached until its nextUpdate"
    asked = pki.server.hits.count("/ocsp")
    again = _validate(pki, leaf.cert, tmp_path)
    assert again.status is ValidationStatus.VALID, again.reasons
    assert pki.server.hits.count("/ocsp") == asked, "the second run asked the responder again"


def test_ocsp_revoked_answer_is_revoked(pki: Pki, tmp_path: Path) -> None:
    leaf = _ocsp_leaves(pki)["revoked"]
    v = _validate(pki, leaf.cert, tmp_path)
    assert v.status is ValidationStatus.REVOKED, v.reasons
    assert v.revoked_at is not None and v.revoked_at.date() == pki.revoked_at.date()


def test_ocsp_responder_unreachable_is_revocation_unknown(pki: Pki) -> None:
    leaf = _ocsp_leaves(pki)["unreachable"]
    v = _validate(pki, leaf.cert, None)
    assert v.status is ValidationStatus.REVOCATION_UNKNOWN, v.reasons
    assert v.revocation is RevocationState.UNKNOWN


def test_ocsp_turned_off_never_asks_and_is_never_valid(pki: Pki) -> None:
    leaf = _ocsp_leaves(pki)["good"]
    asked = pki.server.hits.count("/ocsp")
    v = _validate(pki, leaf.cert, None, ocsp=False)
    assert v.status is ValidationStatus.REVOCATION_UNKNOWN, v.reasons
    assert pki.server.hits.count("/ocsp") == asked


def test_expired_cached_ocsp_answer_is_not_used(pki: Pki, tmp_path: Path) -> None:
    from agent.certificates.validate import to_asn1

    leaf = _ocsp_leaves(pki)["good"]
    assert _validate(pki, leaf.cert, tmp_path).status is ValidationStatus.VALID
    store = CrlStore(tmp_path)
    cert = to_asn1(leaf.cert)
    assert store.ocsp_for(cert) is not None
    assert store.ocsp_for(cert, now=datetime.now(UTC) + timedelta(days=8)) is None
