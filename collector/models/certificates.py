"""Certificate inventory: certificates per device and place, TLS services probed, signed documents.

Rows mirror the latest ``certificates`` section of each device (the ingest hook replaces them when
the section changes). ``site_id`` is kept on each row so that a site's calendar is one indexed query.
Trust-store roots are not stored: every PC holds the same hundred-odd and they would drown the calendar.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from collector.models.types import json_field, ts_field


class CertificateRole:
    SIGNING = "signing"  # an end-entity certificate on the PC or its token: validated as a signing cert
    CA = "ca"  # a CA certificate found in a configured place
    TLS = "tls"  # the certificate a configured TLS service presented


class DeviceCertificate(SQLModel, table=True):
    __tablename__ = "device_certificate"
    __table_args__ = (
        UniqueConstraint("device_id", "sha256", "location_kind", "location_path", "location_label"),
    )

    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id", index=True, ondelete="CASCADE")
    site_id: int = Field(foreign_key="site.id", index=True, ondelete="CASCADE")
    role: str = Field(max_length=16, index=True)
    sha256: str = Field(max_length=64, index=True)
    subject: str = Field(max_length=1000)
    subject_cn: str | None = Field(default=None, max_length=255)
    issuer: str = Field(max_length=1000)
    issuer_cn: str | None = Field(default=None, max_length=255)
    serial: str = Field(max_length=128)
    not_before: datetime = ts_field(default_now=False)
    not_after: datetime = ts_field(default_now=False, index=True)
    key_type: str = Field(max_length=16)
    key_size: int | None = None
    signature_algorithm: str = Field(max_length=64)
    signature_hash: str | None = Field(default=None, max_length=16)
    key_usage: list[str] = json_field(default_factory=list)
    location_kind: str = Field(max_length=16)
    location_path: str = Field(max_length=1000)
    location_label: str = Field(default="", max_length=255)
    key_on_token: bool | None = None
    key_provider: str | None = Field(default=None, max_length=255)
    status: str | None = Field(default=None, max_length=32)  # validation status of a signing certificate
    reasons: list[str] = json_field(default_factory=list)
    trusted: bool | None = None
    revocation: str | None = Field(default=None, max_length=16)
    revoked_at: datetime | None = ts_field(nullable=True)
    first_seen_at: datetime = ts_field()
    last_seen_at: datetime = ts_field()


class TlsEndpointRow(SQLModel, table=True):
    __tablename__ = "device_tls_endpoint"
    __table_args__ = (UniqueConstraint("device_id", "target"),)

    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id", index=True, ondelete="CASCADE")
    site_id: int = Field(foreign_key="site.id", index=True, ondelete="CASCADE")
    target: str = Field(max_length=500)
    host: str = Field(max_length=255)
    port: int
    reachable: bool = False
    error: str | None = Field(default=None, max_length=1000)
    protocol: str | None = Field(default=None, max_length=16)
    leaf_sha256: str | None = Field(default=None, max_length=64)
    leaf_subject: str | None = Field(default=None, max_length=1000)
    not_after: datetime | None = ts_field(nullable=True)
    verified: bool | None = None
    verify_error: str | None = Field(default=None, max_length=1000)
    chain_complete: bool | None = None
    hostname_matches: bool | None = None
    tls10_accepted: bool | None = None
    tls11_accepted: bool | None = None
    hsts: bool | None = None
    updated_at: datetime = ts_field()


class SignedDocumentRow(SQLModel, table=True):
    __tablename__ = "device_signed_document"
    __table_args__ = (UniqueConstraint("device_id", "path", "signature"),)

    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id", index=True, ondelete="CASCADE")
    site_id: int = Field(foreign_key="site.id", index=True, ondelete="CASCADE")
    path: str = Field(max_length=1000)
    signature: str = Field(max_length=255)
    kind: str = Field(max_length=8)
    status: str = Field(max_length=32, index=True)
    signer_subject: str | None = Field(default=None, max_length=1000)
    signing_time: datetime | None = ts_field(nullable=True)
    timestamp_present: bool = False
    reasons: list[str] = json_field(default_factory=list)
    updated_at: datetime = ts_field()

    def summary(self) -> dict[str, Any]:
        return {"path": self.path, "signature": self.signature, "status": self.status}
