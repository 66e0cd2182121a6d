"""The agent's client certificate for mutual TLS with the collector.

At enrollment (and at each renewal) the agent makes a fresh ECDSA P-256 key and a certificate signing
request; the collector's agent CA answers with a certificate bound to the agent id. Key and
certificate are kept together in ``client.pem`` in the state directory (0600, written atomically, so a
power cut never leaves a key beside someone else's certificate). A certificate is renewed when less
than a third of its life is left, with the agent key alone: no new enroll secret.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

CLIENT_FILE = "client.pem"
CA_FILE = "agent-ca.pem"
ATTEMPT_FILE = ".client-cert-attempt"
# Without a certificate (enrolled before the collector had a CA), ask for one at most this often.
RETRY_SECONDS = 6 * 3600


@dataclass(frozen=True)
class PendingKey:
    """A new private key and the CSR for it, waiting for the collector's certificate."""

    key_pem: bytes
    csr_pem: str


@dataclass(frozen=True)
class ClientCert:
    path: Path
    not_before: datetime
    not_after: datetime

    def usable(self, now: datetime | None = None) -> bool:
        now = now or datetime.now(UTC)
        return self.not_before <= now < self.not_after

    def due(self, now: datetime | None = None) -> bool:
        """Less than a third of its lifetime left (or already expired)."""
        now = now or datetime.now(UTC)
        return now >= self.not_after - (self.not_after - self.not_before) / 3


def new_key(hostname: str) -> PendingKey:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        # The collector puts the agent id in the certificate; the host name is only a hint here.
        .subject_name(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname[:64] or "wardwatch-agent")])
        )
        .sign(key, hashes.SHA256())
    )
    return PendingKey(
        key_pem=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        csr_pem=csr.public_bytes(serialization.Encoding.PEM).decode(),
    )


def save(state_dir: Path, pending: PendingKey, cert_pem: str, ca_pem: str | None) -> ClientCert:
    """Keep the certificate the collector issued with its key; checks that the two belong together."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from agent.state import atomic_write, ensure_state_dir

    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    key = serialization.load_pem_private_key(pending.key_pem, password=None)
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    if cert.public_key().public_bytes(serialization.Encoding.DER, spki) != key.public_key().public_bytes(
        serialization.Encoding.DER, spki
    ):
        raise ValueError("the collector answered with a certificate for another key")
    ensure_state_dir(state_dir)
    atomic_write(state_dir / CLIENT_FILE, cert_pem.encode().rstrip(b"\n") + b"\n" + pending.key_pem)
    if ca_pem:
        atomic_write(state_dir / CA_FILE, ca_pem.encode(), mode=0o644)
    return ClientCert(state_dir / CLIENT_FILE, cert.not_valid_before_utc, cert.not_valid_after_utc)


def load(state_dir: Path) -> ClientCert | None:
    path = state_dir / CLIENT_FILE
    try:
        data = path.read_bytes()
    except OSError:
        return None
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(data)
    except ValueError:
        return None
    return ClientCert(path, cert.not_valid_before_utc, cert.not_valid_after_utc)


def should_ask(state_dir: Path, current: ClientCert | None, now: float | None = None) -> bool:
    """Renew a certificate that is due; ask for a first one now and then, not on every delivery."""
    if current is not None:
        return current.due()
    try:
        last = (state_dir / ATTEMPT_FILE).stat().st_mtime
    except OSError:
        return True
    return (now or time.time()) - last >= RETRY_SECONDS


def note_attempt(state_dir: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(state_dir / ATTEMPT_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.close(fd)
