"""On-site inspections: answers, photos, actions, and immutable published reports."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import LargeBinary, UniqueConstraint
from sqlmodel import Column, Field, SQLModel

from collector.models.types import json_field, ts_field


class InspectionStatus(StrEnum):
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    SIGNED = "signed"
    PUBLISHED = "published"


class ActionStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    VERIFIED = "verified"


class Inspection(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id", index=True, ondelete="CASCADE")
    template_key: str = Field(max_length=64)
    template_version: int
    team: str = Field(default="", max_length=500)
    lead_username: str = Field(max_length=150)
    status: str = Field(default=InspectionStatus.SCHEDULED, max_length=16, index=True)
    scheduled_for: date | None = None
    created_by: str = Field(max_length=150)
    created_at: datetime = ts_field()
    # Automatic items were filled from the site's data as of this moment.
    prefilled_at: datetime | None = ts_field(nullable=True)
    signed_at: datetime | None = ts_field(nullable=True)
    signed_by: str | None = Field(default=None, max_length=150)
    score: float | None = None
    passed: bool | None = None


class InspectionAnswer(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("inspection_id", "item_id"),)

    id: int | None = Field(default=None, primary_key=True)
    inspection_id: int = Field(foreign_key="inspection.id", index=True, ondelete="CASCADE")
    item_id: str = Field(max_length=64)
    # pass/fail/na for pass_fail items; the number, text, choice value or signature name otherwise.
    value: Any = json_field()
    note: str = Field(default="", max_length=4000)
    # What the agents' evidence said (kept even when an inspector overrides it).
    auto_value: str | None = Field(default=None, max_length=8)
    auto_evidence: str | None = None
    auto_as_of: datetime | None = ts_field(nullable=True)
    source: str = Field(default="manual", max_length=8)  # auto, manual, override
    revision: int = 0
    updated_at: datetime = ts_field()
    updated_by: str | None = Field(default=None, max_length=150)


class SyncReceipt(SQLModel, table=True):
    """One applied offline change, by its client-chosen id: replaying a sync applies nothing twice."""

    op_id: str = Field(primary_key=True, max_length=64)
    inspection_id: int = Field(foreign_key="inspection.id", index=True, ondelete="CASCADE")
    applied_at: datetime = ts_field()
    outcome: str = Field(max_length=16)


class InspectionPhoto(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    inspection_id: int = Field(foreign_key="inspection.id", index=True, ondelete="CASCADE")
    item_id: str = Field(max_length=64)
    content_type: str = Field(max_length=32)
    size_bytes: int
    sha256: str = Field(max_length=64)
    stored_name: str = Field(max_length=100)
    uploaded_by: str = Field(max_length=150)
    uploaded_at: datetime = ts_field()


class Action(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id", index=True, ondelete="CASCADE")
    inspection_id: int = Field(foreign_key="inspection.id", index=True, ondelete="CASCADE")
    item_id: str = Field(max_length=64)
    title: str = Field(max_length=500)
    severity: str = Field(max_length=16)
    owner: str = Field(default="", max_length=255)
    due_date: date
    status: str = Field(default=ActionStatus.OPEN, max_length=16, index=True)
    created_at: datetime = ts_field()
    updated_at: datetime = ts_field()
    updated_by: str | None = Field(default=None, max_length=150)
    # The action of an earlier inspection this one carries over.
    carried_from_id: int | None = Field(default=None, foreign_key="action.id", ondelete="SET NULL")


class Publication(SQLModel, table=True):
    """An immutable published report: the exact JSON bytes and their Ed25519 signature.

    A public publication also holds a separate redacted rendering (``public_*``): what anyone may
    read. The full one stays for those who may see the site, and for share links.
    """

    __table_args__ = (UniqueConstraint("doc_year", "doc_number", name="uq_publication_doc_number"),)

    id: int | None = Field(default=None, primary_key=True)
    inspection_id: int = Field(foreign_key="inspection.id", unique=True, ondelete="CASCADE")
    slug: str = Field(max_length=64, unique=True, index=True)
    site_id: int = Field(foreign_key="site.id", index=True, ondelete="CASCADE")
    title: str = Field(max_length=500)
    published_at: datetime = ts_field(index=True)
    published_by: str = Field(max_length=150)
    score: float | None = None
    passed: bool | None = None
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    signature: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # The PDF rendering, made once at publication and signed on its own.
    pdf: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    pdf_signature: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    key_id: str = Field(max_length=64)
    # Readable without login only through a share link (or while `public` is set).
    public: bool = False
    # The record's number in the issuing unit's register: "Số: <number>/BB-<unit>", counted per year.
    doc_year: int | None = None
    doc_number: int | None = None
    # PAdES level of the PDF signature (B-B, B-T, B-LT) and who signed (the certificate's name).
    pades_level: str | None = Field(default=None, max_length=8)
    pdf_signer: str | None = Field(default=None, max_length=500)
    public_body: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    public_signature: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    public_pdf: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    public_pdf_signature: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))


class ShareLink(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    publication_id: int = Field(foreign_key="publication.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = ts_field()
    created_by: str = Field(max_length=150)
    revoked_at: datetime | None = ts_field(nullable=True)
