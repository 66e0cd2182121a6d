"""The organisation's PDF signing certificate (PAdES): a PKCS#12 key held encrypted, or a PKCS#11 token.

One row is in force (the newest); older rows are the history of what signed earlier publications.
The row is organisation-wide, not a site's: only an administrator without a site scope sets or sees it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, Text
from sqlmodel import Column, Field, SQLModel

from collector.models.types import ts_field


class SigningCertificate(SQLModel, table=True):
    __tablename__ = "signing_certificate"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=8)  # p12, pkcs11
    subject: str = Field(max_length=1000)
    issuer: str = Field(max_length=1000)
    serial: str = Field(max_length=64)
    fingerprint: str = Field(max_length=64, index=True)
    not_before: datetime = ts_field(default_now=False)
    not_after: datetime = ts_field(default_now=False)
    cert_pem: str = Field(sa_column=Column(Text, nullable=False))
    # The issuing CAs that came with the key (a PKCS#12 bundle's or a token's), PEM.
    chain_pem: str = Field(default="", sa_column=Column(Text, nullable=False))
    # PKCS#12: the private key (PKCS#8 DER) as a Fernet token under the device-password key.
    key_enc: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    # PKCS#11: where the key lives, and the user PIN as a Fernet token.
    pkcs11_module: str | None = Field(default=None, max_length=1000)
    token_label: str | None = Field(default=None, max_length=64)
    key_label: str | None = Field(default=None, max_length=255)
    pin_enc: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    # Roots the operator trusts beside the shipped Vietnamese ones (PEM).
    trust_pem: str = Field(default="", sa_column=Column(Text, nullable=False))
    # RFC 3161 timestamp server: signatures become PAdES B-T (B-LT when revocation data is reachable).
    tsa_url: str | None = Field(default=None, max_length=1000)
    created_at: datetime = ts_field()
    created_by: str = Field(max_length=150)
