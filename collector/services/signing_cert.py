"""The organisation's PDF signing certificate: set it (PKCS#12 or PKCS#11), show it, check it, sign with it.

Keyword-only functions, no HTTP. A PKCS#12 private key is kept in the database as a Fernet token under
the device-password key (``<data_dir>/netdevices.key``, rotated with ``wardwatch keys rotate
device-passwords``); a token's PIN likewise. Both are in ``wardwatch backup`` (the database and the
key file). Neither the key, the PIN nor the PKCS#12 password is ever logged or shown.

Before signing, the certificate is validated against the shipped Vietnamese roots plus the roots the
operator added, with revocation checked (CRL/OCSP): an expired, revoked or untrusted certificate is
refused with the reason. When revocation cannot be reached the signature is still made, without the
long-term data (B-T, not B-LT).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from sqlmodel import Session, col, select

from collector.models.signing import SigningCertificate
from collector.services.audit import record
from collector.services.errors import ServiceError
from collector.services.netdevices import load_key
from inventory.certificates.facts import CertificateValidation, ValidationStatus

P12_PASSWORD_ENV = "WARDWATCH_P12_PASSWORD"
PIN_ENV = "WARDWATCH_PKCS11_PIN"
# A certificate with one of these cannot sign an official record.
REFUSED = (
    ValidationStatus.EXPIRED,
    ValidationStatus.NOT_YET_VALID,
    ValidationStatus.REVOKED,
    ValidationStatus.UNTRUSTED,
    ValidationStatus.BAD_KEY_USAGE,
    ValidationStatus.WEAK_ALGORITHM,
    ValidationStatus.ERROR,
)


class SigningRefused(ServiceError):
    """The signing certificate may not sign: ``status`` says why (expired, revoked, untrusted, ...)."""

    status_code = 409

    def __init__(
        self,
        message: str,
        *,
        status: str,
        reasons: list[str] | None = None,
        params: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message, **(params or {}))
        self.status = status
        self.reasons = reasons or []


def _cipher(data_dir: Path) -> MultiFernet:
    return MultiFernet([Fernet(k) for k in load_key(data_dir).split()])


def _pem(certs: list[x509.Certificate]) -> str:
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in certs)


def _certs(pem: str) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(pem.encode()) if pem.strip() else []


def _read_trust(paths: list[Path]) -> str:
    from inventory.certificates.parse import CertificateParseError, load_certificates

    out = []
    for path in paths:
        try:
            items = load_certificates(path.read_bytes(), name=path.name)
        except OSError as exc:
            raise ServiceError(
                "cannot read the trust root %(path)s: %(exc_strerror)s",
                path=path,
                exc_strerror=exc.strerror or exc,
            ) from None
        except CertificateParseError as exc:
            raise ServiceError(
                "the trust root %(path)s is not a certificate: %(exc)s", path=path, exc=exc
            ) from None
        if not items:
            raise ServiceError("the trust root %(path)s holds no certificate", path=path)
        out += [i.cert for i in items]
    return _pem(out)


def _row(cert: x509.Certificate, chain: list[x509.Certificate], **fields: Any) -> SigningCertificate:
    from inventory.certificates.parse import fingerprint

    return SigningCertificate(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        serial=format(cert.serial_number, "X"),
        fingerprint=fingerprint(cert),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        cert_pem=_pem([cert]),
        chain_pem=_pem(chain),
        **fields,
    )


def set_p12(
    session: Session,
    *,
    data: bytes,
    password: str,
    data_dir: Path,
    actor: str,
    trust: Sequence[Path] = (),
    tsa_url: str | None = None,
) -> SigningCertificate:
    """Use the key and certificate of a PKCS#12 file from now on (the caller commits)."""
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, password.encode() if password else None)
    except ValueError:
        raise ServiceError(
            "cannot open the PKCS#12 file: wrong password, or not a PKCS#12 (.p12/.pfx) file"
        ) from None
    if key is None or cert is None:
        raise ServiceError("the PKCS#12 file must hold a private key and its certificate")
    if cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) != key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ):
        raise ServiceError("the PKCS#12 file's private key does not belong to its certificate")
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    row = _row(
        cert,
        list(extra or []),
        kind="p12",
        key_enc=_cipher(data_dir).encrypt(der),
        trust_pem=_read_trust(list(trust)),
        tsa_url=_tsa(tsa_url),
        created_by=actor,
    )
    return _save(session, row, actor)


def set_pkcs11(
    session: Session,
    *,
    module: str,
    token_label: str,
    key_label: str,
    pin: str,
    data_dir: Path,
    actor: str,
    trust: Sequence[Path] = (),
    tsa_url: str | None = None,
) -> SigningCertificate:
    """Sign with a key on a PKCS#11 token (its certificate is read from the token now)."""
    if not Path(module).is_file():
        raise ServiceError("PKCS#11 module %(module)s: file not found", module=module)
    with _pkcs11_session(module, token_label, pin) as p11:
        signer = _pkcs11_signer(p11, key_label)
        cert = x509.load_der_x509_certificate(signer.signing_cert.dump())
        chain = [x509.load_der_x509_certificate(c.dump()) for c in signer.cert_registry]
    chain = [c for c in chain if c != cert]
    row = _row(
        cert,
        chain,
        kind="pkcs11",
        pkcs11_module=module,
        token_label=token_label,
        key_label=key_label,
        pin_enc=_cipher(data_dir).encrypt(pin.encode()),
        trust_pem=_read_trust(list(trust)),
        tsa_url=_tsa(tsa_url),
        created_by=actor,
    )
    return _save(session, row, actor)


def _tsa(url: str | None) -> str | None:
    if not url:
        return None
    if not url.startswith(("http://", "https://")):
        raise ServiceError(
            "the timestamp server must be an http:// or https:// URL, not %(url)s", url=repr(url)
        )
    return url


def _save(session: Session, row: SigningCertificate, actor: str) -> SigningCertificate:
    session.add(row)
    session.flush()
    record(
        session,
        actor=actor,
        action="signing_cert.set",
        target=row.fingerprint,
        detail={"kind": row.kind, "subject": row.subject, "tsa": row.tsa_url},
    )
    return row


def current(session: Session) -> SigningCertificate | None:
    q = select(SigningCertificate).order_by(col(SigningCertificate.id).desc())
    return session.exec(q).first()


def certificate(row: SigningCertificate) -> x509.Certificate:
    return x509.load_pem_x509_certificate(row.cert_pem.encode())


def chain(row: SigningCertificate) -> list[x509.Certificate]:
    return _certs(row.chain_pem)


def trust_roots(row: SigningCertificate | None) -> list[x509.Certificate]:
    """The shipped Vietnamese roots, then the operator's."""
    from agent.certificates.trust import load_trust

    trust = load_trust()
    return [*trust.anchors, *trust.intermediates, *(_certs(row.trust_pem) if row else [])]


def common_name(cert: x509.Certificate) -> str:
    from cryptography.x509.oid import NameOID

    attrs = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else cert.subject.rfc4514_string()


def validate(row: SigningCertificate, *, timeout: float = 10.0) -> CertificateValidation:
    """Path, validity and revocation of the signing certificate (the network only for its CRL/OCSP)."""
    from agent.certificates.trust import TrustSet
    from agent.certificates.validate import SigningValidator

    trust = TrustSet()
    for cert in trust_roots(row):
        trust.add(cert)

    async def run() -> CertificateValidation:
        validator = SigningValidator(trust, other_certs=chain(row), fetch_timeout=timeout)
        async with validator.session():
            return await validator.validate(certificate(row))

    return asyncio.run(run())


def require_usable(row: SigningCertificate | None) -> CertificateValidation:
    if row is None:
        raise SigningRefused(
            "no signing certificate is configured: run `wardwatch signing-cert set`", status="missing"
        )
    result = validate(row)
    if result.status in REFUSED:
        raise SigningRefused(
            "the signing certificate cannot sign (%(status)s): %(reasons)s",
            status=result.status.value,
            reasons=list(result.reasons),
            params={
                "status": result.status.value,
                "reasons": "; ".join(result.reasons) or result.status.value,
            },
        )
    return result


@contextmanager
def _pkcs11_session(module: str, token_label: str, pin: str) -> Iterator[Any]:
    try:
        from pyhanko.sign.pkcs11 import TokenCriteria, open_pkcs11_session
    except ImportError:
        raise ServiceError("PKCS#11 needs python-pkcs11: pip install 'wardwatch[pkcs11]'") from None
    try:
        p11 = open_pkcs11_session(module, token_criteria=TokenCriteria(label=token_label), user_pin=pin)
    except Exception as exc:  # the vendor library fails in its own ways: say which token and why
        raise ServiceError(
            "cannot open the token %(token_label)s with %(module)s: %(exc)s",
            token_label=repr(token_label),
            module=module,
            exc=exc,
        ) from None
    try:
        yield p11
    finally:
        p11.close()


def _pkcs11_signer(p11: Any, key_label: str) -> Any:
    from pyhanko.sign.pkcs11 import PKCS11Signer

    # other_certs_to_pull=None: every certificate on the token (the issuing CAs) joins the chain.
    signer = PKCS11Signer(p11, key_label=key_label, cert_label=key_label, other_certs_to_pull=None)
    try:
        _ = signer.signing_cert
    except Exception as exc:
        raise ServiceError(
            "no certificate and key labelled %(key_label)s on the token: %(name)s %(exc)s",
            key_label=repr(key_label),
            name=type(exc).__name__,
            exc=exc,
        ) from None
    return signer


@contextmanager
def signer_for(row: SigningCertificate, *, data_dir: Path) -> Iterator[Any]:
    """A pyHanko signer for the configured key (a PKCS#11 session stays open inside the block)."""
    from asn1crypto import keys
    from pyhanko.sign import signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    from collector.pdfsign import asn1

    cipher = _cipher(data_dir)
    if row.kind == "p12":
        assert row.key_enc is not None
        key = keys.PrivateKeyInfo.load(cipher.decrypt(row.key_enc))
        yield signers.SimpleSigner(
            signing_cert=asn1(certificate(row)),
            signing_key=key,
            cert_registry=SimpleCertificateStore.from_certs([asn1(c) for c in chain(row)]),
        )
        return
    assert row.pkcs11_module and row.token_label and row.key_label and row.pin_enc is not None
    with _pkcs11_session(row.pkcs11_module, row.token_label, cipher.decrypt(row.pin_enc).decode()) as p11:
        yield _pkcs11_signer(p11, row.key_label)


def reencrypt(session: Session, *, data_dir: Path) -> int:
    """After a device-password key rotation: the stored key and PIN under the new key."""
    cipher = _cipher(data_dir)
    rows = session.exec(select(SigningCertificate)).all()
    for row in rows:
        if row.key_enc is not None:
            row.key_enc = cipher.rotate(row.key_enc)
        if row.pin_enc is not None:
            row.pin_enc = cipher.rotate(row.pin_enc)
        session.add(row)
    session.flush()
    return len(rows)


@dataclass(frozen=True)
class SignedPdf:
    data: bytes
    level: str  # B-B, B-T, B-LT
    signer: str  # the certificate's common name


class PdfSigningSession:
    """Signs one or more PDFs with the configured certificate, checked once."""

    def __init__(self, row: SigningCertificate, validation: CertificateValidation, signer: Any) -> None:
        self.row, self.validation, self.signer = row, validation, signer

    def sign(self, pdf: bytes, *, box: Any = None, reason: str, location: str, stamp: str) -> SignedPdf:
        from pyhanko_certvalidator import ValidationContext

        from collector.pdf.layout import font_path
        from collector.pdfsign import Appearance, TimestampError, asn1, sign
        from inventory.certificates.facts import RevocationState

        appearance = Appearance(box.page, box.box, stamp, font_path("")) if box is not None else None
        tsa = self.row.tsa_url
        # B-LT: the chain's revocation data is embedded when it could be had at all (then it is now).
        long_term = tsa is not None and self.validation.revocation is RevocationState.GOOD
        vc = None
        if long_term:
            vc = ValidationContext(
                trust_roots=[asn1(c) for c in trust_roots(self.row)],
                other_certs=[asn1(c) for c in chain(self.row)],
                allow_fetching=True,
                revocation_mode="soft-fail",
            )
        try:
            data = sign(
                pdf,
                self.signer,
                appearance=appearance,
                tsa_url=tsa,
                validation_context=vc,
                reason=reason,
                location=location,
            )
        except TimestampError as exc:
            raise SigningRefused(
                "the timestamp server failed: %(reason)s",
                status="timestamp",
                reasons=[str(exc)],
                params={"reason": str(exc)},
            ) from None
        level = "B-LT" if long_term else ("B-T" if tsa else "B-B")
        return SignedPdf(data, level, common_name(certificate(self.row)))


@contextmanager
def pdf_signing(session: Session, *, data_dir: Path) -> Iterator[PdfSigningSession]:
    """Check the configured certificate (refusing an unusable one) and open its key for signing."""
    row = current(session)
    validation = require_usable(row)
    assert row is not None
    with signer_for(row, data_dir=data_dir) as signer:
        yield PdfSigningSession(row, validation, signer)


def describe(row: SigningCertificate) -> dict[str, Any]:
    """What ``signing-cert show`` and the admin page print (nothing secret)."""
    cert = certificate(row)
    return {
        "kind": row.kind,
        "subject": row.subject,
        "common_name": common_name(cert),
        "issuer": row.issuer,
        "serial": row.serial,
        "fingerprint": row.fingerprint,
        "not_before": row.not_before,
        "not_after": row.not_after,
        "pkcs11_module": row.pkcs11_module,
        "token_label": row.token_label,
        "key_label": row.key_label,
        "tsa_url": row.tsa_url,
        "operator_roots": [common_name(c) for c in _certs(row.trust_pem)],
        "set_at": row.created_at,
        "set_by": row.created_by,
    }
