"""Signed documents: PDFs signed with pyHanko in the test, detached CMS signatures."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from cryptography.x509.oid import ExtendedKeyUsageOID

from agent.certificates.documents import find_documents, validate_document
from agent.certificates.revocation import CrlStore
from agent.certificates.trust import TrustSet
from agent.certificates.validate import SigningValidator
from inventory.certificates.facts import DocumentStatus, SignedDocumentResult
from tests.pki_factory import DAY, Pki, blank_pdf, issue, sign_detached, sign_pdf, timestamper


def check(pki: Pki, path: Path) -> list[SignedDocumentResult]:
    validator = SigningValidator(
        TrustSet(anchors=[pki.root.cert]),
        other_certs=[pki.inter.cert],
        crl_store=CrlStore(None),
        fetch_timeout=5,
    )

    async def go() -> list[SignedDocumentResult]:
        async with validator.session():
            return await validate_document(path, validator)

    return asyncio.run(go())


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return blank_pdf()


def test_valid_pdf_signature(pki: Pki, pdf: bytes, tmp_path: Path) -> None:
    f = tmp_path / "quyet-dinh.pdf"
    f.write_bytes(sign_pdf(pdf, pki.leaves["valid"], [pki.inter, pki.root]))
    [r] = check(pki, f)
    assert r.status is DocumentStatus.VALID, r.reasons
    assert r.intact and r.valid and r.trusted and r.revoked is False
    assert r.signed_while_valid is True and r.signing_time_source == "signer"
    assert r.timestamp_present is False
    assert r.signature == "ChuKy1" and "Nguyen Van A" in (r.signer_subject or "")


def test_pdf_changed_after_signing(pki: Pki, pdf: bytes, tmp_path: Path) -> None:
    signed = sign_pdf(pdf, pki.leaves["valid"], [pki.inter, pki.root])
    # One byte of the signed range changes (the binary comment after the header): still a valid PDF.
    assert signed[9:12] == b"%\xc2\xa5"
    tampered = signed[:11] + b"\xa6" + signed[12:]
    f = tmp_path / "tampered.pdf"
    f.write_bytes(tampered)
    [r] = check(pki, f)
    assert r.status is DocumentStatus.INVALID
    assert r.intact is False
    assert any("changed after signing" in x for x in r.reasons)


def test_pdf_signed_after_certificate_expired(pki: Pki, pdf: bytes, tmp_path: Path) -> None:
    f = tmp_path / "late.pdf"
    f.write_bytes(sign_pdf(pdf, pki.leaves["expired"], [pki.inter, pki.root]))
    [r] = check(pki, f)
    assert r.status is DocumentStatus.SIGNED_OUTSIDE_VALIDITY, r.reasons
    assert r.signed_while_valid is False
    assert r.trusted is False


def test_pdf_signed_with_certificate_revoked_before(pki: Pki, pdf: bytes, tmp_path: Path) -> None:
    f = tmp_path / "revoked.pdf"
    f.write_bytes(sign_pdf(pdf, pki.leaves["revoked"], [pki.inter, pki.root]))
    [r] = check(pki, f)
    assert r.status is DocumentStatus.REVOKED, r.reasons
    assert r.revoked is True and r.revoked_before_signing is True
    assert r.revoked_at is not None and r.revoked_at.date() == pki.revoked_at.date()


def test_pdf_with_trusted_timestamp(pki: Pki, pdf: bytes, tmp_path: Path) -> None:
    tsa = issue(
        "WW Test TSA",
        issuer=pki.inter,
        key_usage=("digital_signature",),
        eku=(ExtendedKeyUsageOID.TIME_STAMPING,),
        crl_url=pki.server.url("/inter.crl"),
    )
    f = tmp_path / "timestamped.pdf"
    f.write_bytes(
        sign_pdf(pdf, pki.leaves["valid"], [pki.inter, pki.root], tsa=timestamper(tsa, [pki.inter]))
    )
    [r] = check(pki, f)
    assert r.timestamp_present is True and r.timestamp_trusted is True, r.reasons
    assert r.signing_time_source == "timestamp"
    assert r.status is DocumentStatus.VALID


def test_untrusted_pdf_signer(pki: Pki, pdf: bytes, tmp_path: Path) -> None:
    f = tmp_path / "stranger.pdf"
    f.write_bytes(sign_pdf(pdf, pki.leaves["untrusted_root"], [pki.other_inter]))  # type: ignore[list-item]
    [r] = check(pki, f)
    assert r.status is DocumentStatus.UNTRUSTED and r.intact and r.valid


def test_unsigned_pdf_yields_nothing(pki: Pki, pdf: bytes, tmp_path: Path) -> None:
    f = tmp_path / "plain.pdf"
    f.write_bytes(pdf)
    assert check(pki, f) == []


def test_broken_pdf_is_an_error_entry(pki: Pki, tmp_path: Path) -> None:
    f = tmp_path / "broken.pdf"
    f.write_bytes(b"%PDF-1.7\nthis is not a pdf")
    [r] = check(pki, f)
    assert r.status is DocumentStatus.ERROR and r.error


def test_detached_cms_valid_and_changed(pki: Pki, tmp_path: Path) -> None:
    data = "Công văn số 12/UBND".encode()
    (tmp_path / "cong-van.txt").write_bytes(data)
    (tmp_path / "cong-van.txt.p7s").write_bytes(
        sign_detached(data, pki.leaves["valid"], [pki.inter, pki.root])
    )
    [ok] = check(pki, tmp_path / "cong-van.txt.p7s")
    assert ok.kind == "cms" and ok.status is DocumentStatus.VALID, ok.reasons
    (tmp_path / "cong-van.txt").write_bytes(data + b" (sua)")
    [bad] = check(pki, tmp_path / "cong-van.txt.p7s")
    assert bad.status is DocumentStatus.INVALID and bad.intact is False


def test_detached_cms_without_its_file(pki: Pki, tmp_path: Path) -> None:
    (tmp_path / "x.doc.p7s").write_bytes(sign_detached(b"x", pki.leaves["valid"], [pki.inter]))
    [r] = check(pki, tmp_path / "x.doc.p7s")
    assert r.status is DocumentStatus.ERROR and "not found" in (r.error or "")


def test_find_documents_limits(tmp_path: Path) -> None:
    for i in range(5):
        (tmp_path / f"d{i}.pdf").write_bytes(b"%PDF")
    (tmp_path / "notes.txt").write_text("x")
    found, errors = find_documents([tmp_path, tmp_path / "missing"], limit=3)
    assert len(found) == 3 and all(p.suffix == ".pdf" for p in found)
    assert any("only the newest 3" in e for e in errors) and any("not found" in e for e in errors)


def test_dates_make_sense(pki: Pki) -> None:
    assert pki.leaves["expired"].cert.not_valid_after_utc < pki.revoked_at + 40 * DAY
