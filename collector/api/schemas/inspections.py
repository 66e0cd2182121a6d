"""Answers of the inspection routes (``collector/api/routers/inspections.py``).

The template and each answer's state stay open dictionaries: a checklist template is configuration
(``collector/services/checklists.py``) and an answer's value is whatever its item type holds.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field


class InspectionPublic(BaseModel):
    """An inspection as listed (its stored row)."""

    id: int
    site_id: int
    template_key: str
    template_version: int
    team: str
    lead_username: str
    status: str
    scheduled_for: date | None
    created_by: str
    created_at: datetime
    prefilled_at: datetime | None
    signed_at: datetime | None
    signed_by: str | None
    score: float | None
    passed: bool | None


class ActionPublic(BaseModel):
    """A follow-up action an inspection opened."""

    id: int
    site_id: int
    inspection_id: int
    item_id: str
    title: str
    severity: str
    owner: str
    due_date: date
    status: str
    created_at: datetime
    updated_at: datetime
    updated_by: str | None
    carried_from_id: int | None


class SectionScorePublic(BaseModel):
    section_id: str
    score: float | None  # None when nothing in it was scored
    passed_weight: float
    scored_weight: float


class InspectionScore(BaseModel):
    overall: float | None
    passed: bool | None
    threshold: float
    sections: list[SectionScorePublic]


class PhotoPublic(BaseModel):
    id: int
    item_id: str
    content_type: str
    size: int


class InspectionDetail(BaseModel):
    """An inspection with its template, answers, score, photos and actions."""

    id: int
    site_id: int
    status: str
    team: str
    lead: str
    scheduled_for: date | None
    created_at: datetime
    prefilled_at: datetime | None
    signed_at: datetime | None
    signed_by: str | None
    template: dict[str, Any]
    answers: dict[str, dict[str, Any]]
    score: InspectionScore
    missing_for_signoff: list[str]
    photos: list[PhotoPublic]
    actions: list[ActionPublic]


class SyncOutcomePublic(BaseModel):
    op_id: str
    item_id: str
    outcome: str  # applied, duplicate, conflict, rejected
    message: str
    server: dict[str, Any]


class SyncAnswer(BaseModel):
    results: list[SyncOutcomePublic]
    score: float | None
    status: str


class PublicationPreview(BaseModel):
    """The full and the public (redacted) documents, and the digest a public publication must name."""

    document: dict[str, Any]
    public_document: dict[str, Any]
    digest: str


class Published(BaseModel):
    slug: str
    url: str
    json_url: str = Field(alias="json")  # "json" would shadow BaseModel.json
    signature: str
    pdf: str
    public: bool
    number: str
    pades_level: str | None
    pdf_signer: str | None
