"""Reading certificates from bytes (PEM, DER, PKCS#7, PKCS#12) and describing them as facts."""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from inventory.certificates.facts import CertLocation, FoundCertificate

PKCS12_SUFFIXES = (".p12", ".pfx")
CERT_SUFFIXES = (".pem", ".crt", ".cer", ".der", ".p7b", ".p7c", ".p7", ".ca-bundle", *PKCS12_SUFFIXES)

_KEY_USAGE_FIELDS = (
    ("digital_signature", "digitalSignature"),
    ("content_commitment", "nonRepudiation"),
    ("key_encipherment", "keyEncipherment"),
    ("data_encipherment", "dataEncipherment"),
    ("key_agreement", "keyAgreement"),
    ("key_cert_sign", "keyCertSign"),
    ("crl_sign", "cRLSign"),
)
_EKU_NAMES = {
    ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth",
    ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth",
    ExtendedKeyUsageOID.CODE_SIGNING: "codeSigning",
    ExtendedKeyUsageOID.EMAIL_PROTECTION: "emailProtection",
    ExtendedKeyUsageOID.TIME_STAMPING: "timeStamping",
    ExtendedKeyUsageOID.OCSP_SIGNING: "OCSPSigning",
    ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE: "anyExtendedKeyUsage",
    ExtendedKeyUsageOID.SMARTCARD_LOGON: "smartcardLogon",
    ExtendedKeyUsageOID.KERBEROS_PKINIT_KDC: "kerberosPkinitKdc",
}
# Adobe/Microsoft document-signing EKUs seen on Vietnamese signing certificates.
_EKU_NAMES[x509.ObjectIdentifier("1.3.6.1.4.1.311.10.3.12")] = "msDocumentSigning"
_EKU_NAMES[x509.ObjectIdentifier("1.2.840.113583.1.1.5")] = "adobeAuthenticDocumentsTrust"


class CertificateParseError(ValueError):
    """The bytes are not a certificate container we can read, or need a password we lack."""


@dataclass
class LoadedCertificate:
    cert: x509.Certificate
    has_private_key: bool = False
    label: str | None = None


def fingerprint(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def load_certificates(
    data: bytes, *, name: str = "", passwords: Sequence[bytes] = ()
) -> list[LoadedCertificate]:
    """Every certificate in ``data``; ``name`` (a file name) only steers the guess and the errors."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return _load(data, name=name, passwords=passwords)


def _load(data: bytes, *, name: str, passwords: Sequence[bytes]) -> list[LoadedCertificate]:
    lower = name.lower()
    if lower.endswith(PKCS12_SUFFIXES):
        return _load_pkcs12(data, name=name, passwords=passwords)
    if b"-----BEGIN" in data:
        return _load_pem(data, name=name)
    for loader in (_der_certificate, _der_pkcs7):
        try:
            return loader(data)
        except ValueError:
            continue
    try:
        return _load_pkcs12(data, name=name, passwords=passwords)
    except CertificateParseError as exc:
        if "password" in str(exc):
            raise
    raise CertificateParseError(f"{name or 'data'}: not a certificate (PEM, DER, PKCS#7 or PKCS#12)")


def _der_certificate(data: bytes) -> list[LoadedCertificate]:
    return [LoadedCertificate(x509.load_der_x509_certificate(data))]


def _der_pkcs7(data: bytes) -> list[LoadedCertificate]:
    return [LoadedCertificate(c) for c in pkcs7.load_der_pkcs7_certificates(data)]


def _load_pem(data: bytes, *, name: str) -> list[LoadedCertificate]:
    out: list[LoadedCertificate] = []
    if b"-----BEGIN CERTIFICATE-----" in data:
        try:
            out.extend(LoadedCertificate(c) for c in x509.load_pem_x509_certificates(data))
        except ValueError as exc:
            raise CertificateParseError(f"{name or 'data'}: broken PEM certificate: {exc}") from exc
    if b"-----BEGIN PKCS7-----" in data:
        try:
            out.extend(LoadedCertificate(c) for c in pkcs7.load_pem_pkcs7_certificates(data))
        except ValueError as exc:
            raise CertificateParseError(f"{name or 'data'}: broken PEM PKCS#7: {exc}") from exc
    return out


def _load_pkcs12(data: bytes, *, name: str, passwords: Sequence[bytes]) -> list[LoadedCertificate]:
    last: Exception | None = None
    for password in (None, b"", *passwords):
        try:
            p12 = pkcs12.load_pkcs12(data, password)
        except ValueError as exc:
            last = exc
            continue
        out: list[LoadedCertificate] = []
        if p12.cert is not None:
            label = p12.cert.friendly_name.decode("utf-8", "replace") if p12.cert.friendly_name else None
            out.append(LoadedCertificate(p12.cert.certificate, p12.key is not None, label))
        for extra in p12.additional_certs:
            label = extra.friendly_name.decode("utf-8", "replace") if extra.friendly_name else None
            out.append(LoadedCertificate(extra.certificate, False, label))
        return out
    what = name or "data"
    if last is not None and "password" in str(last).lower():
        raise CertificateParseError(f"{what}: PKCS#12 file needs a password (none configured matches)")
    raise CertificateParseError(f"{what}: not a readable PKCS#12 file: {last}")


def _cn(name: x509.Name) -> str | None:
    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else None


def key_description(cert: x509.Certificate) -> tuple[str, int | None, str | None]:
    try:
        key = cert.public_key()
    except (ValueError, UnsupportedAlgorithm):
        return "unknown", None, None
    if isinstance(key, rsa.RSAPublicKey):
        return "rsa", key.key_size, None
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "ec", key.key_size, key.curve.name
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "ed25519", 256, None
    if isinstance(key, ed448.Ed448PublicKey):
        return "ed448", 456, None
    if isinstance(key, dsa.DSAPublicKey):
        return "dsa", key.key_size, None
    return "unknown", None, None


def signature_names(cert: x509.Certificate) -> tuple[str, str | None]:
    oid = cert.signature_algorithm_oid
    name = getattr(oid, "_name", None) or oid.dotted_string
    if name == "Unknown OID":
        name = oid.dotted_string
    try:
        algo = cert.signature_hash_algorithm
    except UnsupportedAlgorithm:
        return name, None
    return name, (algo.name if algo is not None else None)


def key_usages(cert: x509.Certificate) -> list[str]:
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return []
    return [label for attr, label in _KEY_USAGE_FIELDS if getattr(ku, attr)]


def extended_key_usages(cert: x509.Certificate) -> list[str]:
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return []
    return [_EKU_NAMES.get(oid, oid.dotted_string) for oid in eku]


def is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether ``issuer``'s key made ``cert``'s signature (SHA-1 included: old roots use it)."""
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
        return True
    except ValueError:
        pass  # cryptography refuses some algorithms (SHA-1) here; verify by hand below
    except Exception:
        return False
    try:
        key = issuer.public_key()
        algo = cert.signature_hash_algorithm
        if isinstance(key, rsa.RSAPublicKey) and algo is not None:
            key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), algo)
        elif isinstance(key, ec.EllipticCurvePublicKey) and algo is not None:
            key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(algo))
        else:
            return False
    except Exception:  # a wrong signature, an unsupported key: either way not signed by it
        return False
    return True


def is_self_signed(cert: x509.Certificate) -> bool:
    return signed_by(cert, cert)


def describe(
    cert: x509.Certificate,
    location: CertLocation,
    *,
    has_private_key: bool | None = None,
    key_on_token: bool | None = None,
    key_provider: str | None = None,
) -> FoundCertificate:
    with warnings.catch_warnings():
        # Old CA certificates with a negative serial still exist in trust stores; describe them anyway.
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return _describe(cert, location, has_private_key, key_on_token, key_provider)


def _describe(
    cert: x509.Certificate,
    location: CertLocation,
    has_private_key: bool | None,
    key_on_token: bool | None,
    key_provider: str | None,
) -> FoundCertificate:
    key_type, key_size, curve = key_description(cert)
    sig_name, sig_hash = signature_names(cert)
    return FoundCertificate(
        sha256=fingerprint(cert),
        subject=cert.subject.rfc4514_string(),
        subject_cn=_cn(cert.subject),
        issuer=cert.issuer.rfc4514_string(),
        issuer_cn=_cn(cert.issuer),
        serial=format(cert.serial_number, "X"),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        key_type=key_type,
        key_size=key_size,
        curve=curve,
        signature_algorithm=sig_name,
        signature_hash=sig_hash,
        key_usage=key_usages(cert),
        extended_key_usage=extended_key_usages(cert),
        is_ca=is_ca(cert),
        self_signed=is_self_signed(cert),
        location=location,
        has_private_key=has_private_key,
        key_on_token=key_on_token,
        key_provider=key_provider,
    )
