"""Client certificates the collector's agent CA issued (mutual TLS), and their revocation."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from collector.models.types import ts_field


class AgentCertificate(SQLModel, table=True):
    __tablename__ = "agent_certificate"

    id: int | None = Field(default=None, primary_key=True)
    agent_id: str = Field(foreign_key="agent.id", index=True, max_length=36, ondelete="CASCADE")
    # Hex of the serial number (up to 159 bits: too wide for a BIGINT).
    serial: str = Field(max_length=64, unique=True)
    # SHA-256 of the DER: how a presented certificate is found.
    fingerprint: str = Field(max_length=64, unique=True, index=True)
    issued_at: datetime = ts_field()
    not_after: datetime = ts_field(default_now=False)
    revoked_at: datetime | None = ts_field(nullable=True)
    revoked_reason: str | None = Field(default=None, max_length=200)
