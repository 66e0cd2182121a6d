"""The collector's own small CA for agent client certificates (mutual TLS).

The CA key (ECDSA P-256) is ``<data_dir>/keys/agent-ca.key`` (0600), made on first use; its
certificate ``agent-ca-cert.pem`` is what a TLS server (uvicorn, or nginx in front) trusts for client
certificates. A client certificate names the agent id in its subject CN and as the URI SAN
``urn:wardwatch:agent:<id>``, is for client authentication only, and lives ``agent_cert_days``.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from collector.models.types import utcnow

KEY_FILE = "agent-ca.key"
CERT_FILE = "agent-ca-cert.pem"
AGENT_URI = "urn:wardwatch:agent:"
CA_YEARS = 20


class CsrError(ValueError):
    """The certificate request cannot be signed; the message says why."""


@dataclass(frozen=True)
class AgentCA:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def sign_csr(
        self, csr_pem: bytes, *, agent_id: str, days: int, now: datetime | None = None
    ) -> x509.Certificate:
        csr = parse_csr(csr_pem)
        now = now or utcnow()
        ski = x509.SubjectKeyIdentifier.from_public_key(self.key.public_key())
        return (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, agent_id)]))
            .issuer_name(self.cert.subject)
            .public_key(csr.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(
                x509.SubjectAlternativeName([x509.UniformResourceIdentifier(AGENT_URI + agent_id)]),
                critical=False,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
            )
            .sign(self.key, hashes.SHA256())
        )

    def crl(self, revoked: list[tuple[int, datetime]], *, now: datetime | None = None) -> bytes:
        """A PEM CRL listing ``(serial, revoked_at)``, valid for a day (a proxy reloads it daily)."""
        now = now or utcnow()
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.cert.subject)
            .last_update(now - timedelta(minutes=5))
            .next_update(now + timedelta(days=1))
        )
        for serial, when in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
            )
        return builder.sign(self.key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)

    def issued(self, cert: x509.Certificate) -> bool:
        """Whether ``cert`` carries this CA's signature."""
        try:
            cert.verify_directly_issued_by(self.cert)
        except (ValueError, TypeError, InvalidSignature):
            return False
        return True


def parse_csr(csr_pem: bytes) -> x509.CertificateSigningRequest:
    try:
        csr = x509.load_pem_x509_csr(csr_pem)
    except ValueError:
        raise CsrError("csr is not a PEM certificate signing request") from None
    if not csr.is_signature_valid:
        raise CsrError("csr signature does not match its public key")
    key = csr.public_key()
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < 2048:
        raise CsrError(f"csr has an RSA key of {key.key_size} bits; at least 2048 are needed")
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        raise CsrError("csr key must be ECDSA, RSA (2048 bits or more) or Ed25519")
    return csr


def agent_id_of(cert: x509.Certificate) -> str | None:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    for uri in san.get_values_for_type(x509.UniformResourceIdentifier):
        if uri.startswith(AGENT_URI):
            return uri[len(AGENT_URI) :]
    return None


def cert_path(data_dir: Path) -> Path:
    return data_dir / "keys" / CERT_FILE


def load_or_create(data_dir: Path) -> AgentCA:
    keys = data_dir / "keys"
    key_path, crt_path = keys / KEY_FILE, keys / CERT_FILE
    if key_path.exists() and crt_path.exists():
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{key_path} is not an ECDSA private key")
        return AgentCA(key, x509.load_pem_x509_certificate(crt_path.read_bytes()))
    keys.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Two workers starting together must not each make half of a CA (one's key, the other's cert).
    with open(keys / ".agent-ca.lock", "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        if not (key_path.exists() and crt_path.exists()):
            _create(key_path, crt_path)
    return load_or_create(data_dir)


def _create(key_path: Path, crt_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    now = utcnow()
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "wardwatch"),
            x509.NameAttribute(NameOID.COMMON_NAME, "wardwatch agent CA"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=365 * CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write(key_path, pem, 0o600)
    _write(crt_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, mode)
    os.replace(tmp, path)
