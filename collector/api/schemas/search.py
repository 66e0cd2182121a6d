"""Answers of the search routes (``collector/api/routers/search.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

Kind = Literal["device", "network_device", "software", "certificate"]


class SearchHitPublic(BaseModel):
    kind: Kind
    title: str  # hostname, program name, certificate holder
    href: str  # the console page of the hit
    site: str | None  # site code (None for a program: it spans sites)
    site_name: str | None
    matched: str  # hostname, serial, mac, ip, asset_tag, address, platform, version, subject
    value: str  # the matching value (the program's version for software)
    device_id: int | None
    devices: int | None = None  # software: devices (in the caller's sites) that have it
    vendor: str | None = None
    package_id: int | None = None
    not_after: datetime | None = None  # certificates


class VersionQueryPublic(BaseModel):
    name: str
    op: str
    version: str


class SearchResponse(BaseModel):
    query: str
    version_query: VersionQueryPublic | None  # set when q read as ``name OP version``
    groups: dict[str, list[SearchHitPublic]]
    more: dict[str, bool]  # per kind: more hits than ``limit``
