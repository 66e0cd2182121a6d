"""Signed documents: PDF signatures through pyHanko and detached CMS (.p7s) signatures.

For each signature: intact (the signed bytes are unchanged), valid (the signature value verifies),
trusted (the signer's chain reaches a pinned anchor), revoked, signed while the certificate was
valid, and whether a trusted timestamp is present. Revocation uses the same hard-fail validation
context as the signing certificates.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from asn1crypto import cms, pem
from cryptography import x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.generic_cms import async_validate_detached_cms
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import (
    ModificationLevel,
    SignatureCoverageLevel,
    StandardCMSSignatureStatus,
)

from agent.certificates.validate import SigningValidator
from inventory.certificates.facts import DocumentStatus, SignedDocumentResult

KEY_USAGE = KeyUsageConstraints(
    key_usage={"non_repudiation", "digital_signature"}, match_all_key_usages=False
)
DOCUMENT_SUFFIXES = (".pdf", ".p7s")
MAX_DOCUMENT_BYTES = 100 * 1024 * 1024
_REVINFO_PROBLEMS = {"TRY_LATER", "REVOCATION_OUT_OF_BOUNDS_NO_POE"}


def find_documents(folders: Iterable[Path], limit: int) -> tuple[list[Path], list[str]]:
    found: list[Path] = []
    errors: list[str] = []
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            errors.append(f"{folder}: document folder not found")
            continue
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.suffix.lower() in DOCUMENT_SUFFIXES:
                found.append(path)
    if len(found) > limit:
        errors.append(f"{len(found)} signed documents found; only the newest {limit} were checked")
        found = sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)[:limit]
    return found, errors


async def validate_document(path: Path, validator: SigningValidator) -> list[SignedDocumentResult]:
    try:
        if path.stat().st_size > MAX_DOCUMENT_BYTES:
            return [
                _error(path, "pdf" if path.suffix.lower() == ".pdf" else "cms", path.name, "file too large")
            ]
        if path.suffix.lower() == ".p7s":
            return [await validate_detached(path, validator)]
        return await validate_pdf(path, validator)
    except Exception as exc:  # a malformed document must not stop the run; say what broke
        kind = "pdf" if path.suffix.lower() == ".pdf" else "cms"
        return [_error(path, kind, path.name, f"{type(exc).__name__}: {exc}")]


def _error(path: Path, kind: str, sig: str, msg: str) -> SignedDocumentResult:
    return SignedDocumentResult(
        path=str(path),
        kind=kind,
        signature=sig,
        status=DocumentStatus.ERROR,
        error=msg[:500],
        reasons=[msg[:500]],
    )


async def validate_pdf(path: Path, validator: SigningValidator) -> list[SignedDocumentResult]:
    out: list[SignedDocumentResult] = []
    with path.open("rb") as fh:
        reader = PdfFileReader(fh, strict=False)
        sigs = reader.embedded_signatures
        if not sigs:
            return []
        for sig in sigs:
            name = sig.field_name or "signature"
            try:
                status = await async_validate_pdf_signature(
                    sig,
                    signer_validation_context=validator.context(),
                    key_usage_settings=KEY_USAGE,
                )
            except Exception as exc:  # pyHanko raises on structurally broken signatures
                out.append(_error(path, "pdf", name, f"cannot validate: {exc}"))
                continue
            result = _from_status(path, "pdf", name, status)
            coverage = getattr(status, "coverage", None)
            level = getattr(status, "modification_level", None)
            result.coverage = coverage.name if coverage is not None else None
            modified = (
                coverage not in (SignatureCoverageLevel.ENTIRE_FILE, SignatureCoverageLevel.ENTIRE_REVISION)
                or level == ModificationLevel.OTHER
                or getattr(status, "docmdp_ok", True) is False
            )
            result.modified_after_signing = bool(modified) if coverage is not None else None
            if result.modified_after_signing and result.status is not DocumentStatus.INVALID:
                result.reasons.insert(0, "document changed after signing beyond what the signature allows")
                result.status = DocumentStatus.INVALID
            out.append(result)
    return out


async def validate_detached(path: Path, validator: SigningValidator) -> SignedDocumentResult:
    data_path = path.with_suffix("")  # report.pdf.p7s signs report.pdf
    raw = path.read_bytes()
    if pem.detect(raw):
        _, _, raw = pem.unarmor(raw)
    info = cms.ContentInfo.load(raw)
    signed_data = info["content"]
    embedded = signed_data["encap_content_info"]["content"]
    if embedded.native is not None:
        content: bytes = embedded.native if isinstance(embedded.native, bytes) else embedded.contents
    elif data_path.is_file():
        content = data_path.read_bytes()
    else:
        return _error(path, "cms", path.name, f"signed file {data_path.name} not found next to the signature")
    status = await async_validate_detached_cms(
        content, signed_data, signer_validation_context=validator.context(), key_usage_settings=KEY_USAGE
    )
    return _from_status(path, "cms", path.name, status)


def _from_status(
    path: Path, kind: str, name: str, status: StandardCMSSignatureStatus
) -> SignedDocumentResult:
    signer = x509.load_der_x509_certificate(status.signing_cert.dump())
    from inventory.certificates.parse import fingerprint

    ts = status.timestamp_validity
    ts_trusted = ts.trusted if ts is not None else None
    signing_time: datetime | None
    source: str | None
    if ts is not None and ts_trusted:
        signing_time, source = ts.timestamp, "timestamp"
    else:
        signing_time, source = status.signer_reported_dt, ("signer" if status.signer_reported_dt else None)
    if signing_time is not None:
        signing_time = signing_time.astimezone(UTC)
    rd = status.revocation_details
    revoked_at = rd.revocation_date.astimezone(UTC) if rd is not None and rd.revocation_date else None
    indic = status.trust_problem_indic
    indic_name = getattr(indic, "name", None)  # an AdESSubIndic, or another sub-indication enum
    result = SignedDocumentResult(
        path=str(path),
        kind=kind,
        signature=name,
        status=DocumentStatus.VALID,
        signer_subject=signer.subject.rfc4514_string(),
        signer_sha256=fingerprint(signer),
        signer_not_after=signer.not_valid_after_utc,
        intact=status.intact,
        valid=status.valid,
        trusted=status.trusted,
        revoked=status.revoked,
        revoked_at=revoked_at,
        revocation_unknown=indic_name in _REVINFO_PROBLEMS,
        signing_time=signing_time,
        signing_time_source=source,
        timestamp_present=ts is not None,
        timestamp_trusted=ts_trusted,
    )
    if signing_time is not None:
        result.signed_while_valid = signer.not_valid_before_utc <= signing_time <= signer.not_valid_after_utc
        if revoked_at is not None:
            result.revoked_before_signing = revoked_at <= signing_time
    reasons: list[str] = []
    if not status.intact:
        reasons.append("the signed content was changed after signing")
    if not status.valid:
        reasons.append("the signature value does not verify")
    if result.signed_while_valid is False:
        reasons.append(
            f"signed {signing_time:%Y-%m-%d} outside the certificate's validity "
            f"({signer.not_valid_before_utc:%Y-%m-%d} to {signer.not_valid_after_utc:%Y-%m-%d})"
        )
    if status.revoked:
        when = f" on {revoked_at:%Y-%m-%d}" if revoked_at else ""
        before = " (before signing)" if result.revoked_before_signing else ""
        reasons.append(f"signer certificate revoked{when}{before}")
    if result.revocation_unknown:
        reasons.append("revocation status of the signer certificate unknown")
    elif not status.trusted and not status.revoked and status.intact and status.valid:
        reasons.append(f"signer certificate not trusted ({indic_name or 'no path to a trust anchor'})")
    if ts is not None and not ts_trusted:
        reasons.append("timestamp present but not trusted")
    result.reasons = reasons
    if not status.intact or not status.valid:
        result.status = DocumentStatus.INVALID
    elif result.signed_while_valid is False:
        result.status = DocumentStatus.SIGNED_OUTSIDE_VALIDITY
    elif status.revoked:
        result.status = DocumentStatus.REVOKED
    elif result.revocation_unknown:
        result.status = DocumentStatus.REVOCATION_UNKNOWN
    elif not status.trusted:
        result.status = DocumentStatus.UNTRUSTED
    return result


def now_utc() -> datetime:
    return datetime.now(UTC)
