"""Answers of the asset register routes (``collector/api/routers/planning.py``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field


class ImportRowPublic(BaseModel):
    line: int
    action: str  # create, update, unchanged, no_match, ambiguous, conflict, error
    serial: str | None
    asset_tag: str | None
    device_id: int | None
    hostname: str | None
    site: str | None
    matched_by: str | None  # asset_tag, serial
    changes: dict[str, list[Any]]  # column -> [before, after]
    message: str | None


class AssetImportPreview(BaseModel):
    """What an import would do (``apply=false``): nothing was written."""

    applied: Literal[False]
    summary: dict[str, int]
    columns: list[str]
    rows: list[ImportRowPublic]


class AssetImportApplied(BaseModel):
    """What an import did (``apply=true``), with the preview it followed."""

    applied: Literal[True]
    created: int
    updated: int
    skipped: int
    summary: dict[str, int]
    columns: list[str]
    rows: list[ImportRowPublic]


AssetImportAnswer = Annotated[AssetImportPreview | AssetImportApplied, Field(discriminator="applied")]
