"""Answers of the sites admin routes (``collector/api/routers/sites_admin.py``)."""

from __future__ import annotations

from pydantic import BaseModel


class SiteOut(BaseModel):
    code: str
    name: str
    address: str | None


class SiteMerged(BaseModel):
    source: str
    target: str
    moved: dict[str, int]  # table -> rows moved
    renamed_netdevices: list[str]
