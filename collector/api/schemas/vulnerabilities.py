"""Answers of the vulnerabilities routes (``collector/api/routers/vulnerabilities.py``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class VulnerabilityPublic(BaseModel):
    site: str
    device_id: int
    hostname: str
    product: str  # CPE vendor:product
    label: str
    installed_version: str | None
    fixed_version: str | None  # the first version that fixes every listed CVE, when NVD gives one
    kev: bool
    severity: str | None
    cves: list[str]
    kev_cves: list[str]


class SourcePublic(BaseModel):
    name: str
    data_date: datetime | None
    imported_at: datetime | None
    version: str | None
    records: int
    age_days: int | None
    stale: bool
