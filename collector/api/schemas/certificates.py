"""Answers of the certificates routes (``collector/api/routers/certificates.py``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class CertificatePublic(BaseModel):
    site: str
    device_id: int
    hostname: str
    role: str  # signing, ca, tls
    sha256: str
    subject: str
    subject_cn: str | None
    issuer: str
    issuer_cn: str | None
    serial: str
    not_before: datetime
    not_after: datetime
    days_left: int
    key_type: str
    key_size: int | None
    signature_algorithm: str
    location_kind: str
    location_path: str
    location_label: str
    key_on_token: bool | None
    key_provider: str | None
    status: str | None  # validation status of a signing certificate
    reasons: list[str]
    revoked_at: datetime | None
    last_seen_at: datetime
