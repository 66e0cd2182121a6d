"""Agent client certificates: issue (at enrollment, and on renewal), check, revoke, and the CRL.

A presented certificate is accepted when it is one this collector issued (found by its SHA-256), to
this agent, carries the agent CA's signature, is within its validity and is not revoked.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlmodel import Session, col, select

from collector import agent_ca
from collector.models.agent_certs import AgentCertificate
from collector.models.core import Agent
from collector.models.types import utcnow
from collector.services.audit import record
from collector.services.errors import ServiceError


class CertificateRefused(ServiceError):
    """A report without a valid agent certificate while one is required (401)."""

    status_code = 401


class BadCsr(ServiceError):
    status_code = 422


@dataclass(frozen=True)
class Issued:
    cert_pem: str
    ca_pem: str
    not_after: datetime


def fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def issue(session: Session, *, data_dir: Path, agent: Agent, csr_pem: str, days: int, actor: str) -> Issued:
    ca = agent_ca.load_or_create(data_dir)
    try:
        cert = ca.sign_csr(csr_pem.encode(), agent_id=agent.id, days=days)
    except agent_ca.CsrError as exc:
        raise BadCsr(str(exc)) from None
    der = cert.public_bytes(serialization.Encoding.DER)
    session.add(
        AgentCertificate(
            agent_id=agent.id,
            serial=format(cert.serial_number, "x"),
            fingerprint=fingerprint(der),
            not_after=cert.not_valid_after_utc,
        )
    )
    record(session, actor=actor, action="agent.certificate_issued", target=agent.id, sites=[agent.site_id])
    session.flush()
    return Issued(
        cert_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
        ca_pem=ca.cert_pem().decode(),
        not_after=cert.not_valid_after_utc,
    )


def _load(der: bytes | None, pem: str | None) -> x509.Certificate | None:
    try:
        if der:
            return x509.load_der_x509_certificate(der)
        if pem:
            return x509.load_pem_x509_certificate(pem.encode())
    except ValueError:
        raise CertificateRefused("the client certificate could not be read") from None
    return None


def check(session: Session, *, data_dir: Path, agent: Agent, der: bytes | None, pem: str | None) -> None:
    """Raise ``CertificateRefused`` naming the reason unless the agent presented a good certificate."""
    cert = _load(der, pem)
    if cert is None:
        raise CertificateRefused(
            "this collector requires a client certificate and none was presented; "
            "enroll again to get one (wardwatch agent enroll)"
        )
    ca = agent_ca.load_or_create(data_dir)
    found = session.exec(
        select(AgentCertificate).where(
            AgentCertificate.fingerprint == fingerprint(cert.public_bytes(serialization.Encoding.DER))
        )
    ).first()
    if found is None or not ca.issued(cert):
        raise CertificateRefused("the client certificate was not issued by this collector's agent CA")
    if found.agent_id != agent.id or agent_ca.agent_id_of(cert) != agent.id:
        raise CertificateRefused("the client certificate belongs to another agent")
    now = utcnow()
    if cert.not_valid_after_utc <= now or cert.not_valid_before_utc > now:
        raise CertificateRefused("the client certificate has expired; enroll again")
    if found.revoked_at is not None:
        raise CertificateRefused(f"the client certificate was revoked ({found.revoked_reason or 'revoked'})")


def revoke_for_agent(session: Session, agent_id: str, *, reason: str) -> int:
    rows = session.exec(
        select(AgentCertificate).where(
            AgentCertificate.agent_id == agent_id, col(AgentCertificate.revoked_at).is_(None)
        )
    ).all()
    now = utcnow()
    for row in rows:
        row.revoked_at, row.revoked_reason = now, reason[:200]
        session.add(row)
    return len(rows)


def crl_pem(session: Session, *, data_dir: Path) -> bytes:
    """The CRL of every revoked certificate still within its validity (expired ones need no listing)."""
    horizon = utcnow() - timedelta(days=1)
    rows = session.exec(
        select(AgentCertificate).where(
            col(AgentCertificate.revoked_at).is_not(None), AgentCertificate.not_after > horizon
        )
    ).all()
    ca = agent_ca.load_or_create(data_dir)
    return ca.crl([(int(r.serial, 16), r.revoked_at) for r in rows if r.revoked_at is not None])
