"""Answers of the software routes (``collector/api/routers/software.py``)."""

from __future__ import annotations

from pydantic import BaseModel


class SoftwarePublic(BaseModel):
    id: int
    name: str
    version: str
    publisher: str | None
    devices: int  # devices in the caller's (and the filter's) sites that have it
