"""Public API schemas, kept apart from the tables and from the wire contract."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from collector.http.params import NO_NUL


class EnrollRequest(BaseModel):
    secret: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    hostname: str | None = Field(default=None, max_length=255, pattern=NO_NUL)
    agent_version: str | None = Field(default=None, max_length=64, pattern=NO_NUL)
    # Optional: a PEM certificate signing request; the answer then carries a client certificate.
    csr: str | None = Field(default=None, max_length=16384, pattern=NO_NUL)


class EnrollResponse(BaseModel):
    agent_id: str
    agent_key: str
    site: str
    client_cert: str | None = None  # PEM, bound to agent_id, when a csr was sent
    ca_cert: str | None = None  # the collector's agent CA (PEM)
    client_cert_expires_at: datetime | None = None


class CertificateRequest(BaseModel):
    csr: str = Field(min_length=1, max_length=16384)


class CertificateIssued(BaseModel):
    client_cert: str
    ca_cert: str
    client_cert_expires_at: datetime


class ReportAccepted(BaseModel):
    status: str  # accepted, duplicate
    report_id: str
    device_id: int | None
    duplicate: bool


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    # A one-time password was used: every call but POST /api/v1/me/password answers 403 until changed.
    password_change_required: bool = False


class SitePublic(BaseModel):
    id: int
    code: str
    name: str
    group: str | None  # a free label for a cluster of communes (there are no districts)
    device_count: int
    last_report_at: datetime | None


class DevicePublic(BaseModel):
    id: int
    site: str
    kind: str
    hostname: str
    machine_id: str | None
    serial: str | None
    mac: str | None
    platform: str | None
    address: str | None
    clone_of_id: int | None
    first_seen_at: datetime
    last_report_at: datetime | None


class CheckResultPublic(BaseModel):
    check_id: str
    target: str
    status: str
    evidence: str
    observed: dict[str, Any] | None
    updated_at: datetime


class QuarantinedReportPublic(BaseModel):
    report_id: str | None
    kind: str | None
    subject: str | None
    reason: str
    quarantined_at: datetime


class QuarantinePublic(BaseModel):
    """Reports the device's agent set aside (refused for good, or damaged on its disk), as it last said."""

    count: int
    reported_at: datetime
    recent: list[QuarantinedReportPublic]  # newest first


class DeviceDetail(DevicePublic):
    facts: dict[str, Any]
    results: list[CheckResultPublic]
    quarantine: QuarantinePublic | None = None


class ReportSummary(BaseModel):
    report_id: str
    kind: str
    collected_at: datetime
    received_at: datetime
    size_bytes: int
