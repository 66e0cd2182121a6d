"""Parameter types shared by routes, bounded to what the database can hold.

Row ids are INTEGER columns: PostgreSQL's hold at most 2^31-1 (SQLite's 2^63-1); an id or an offset
beyond that is a 422 on both databases instead of an overflow deep in the driver (a 500 before).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import AwareDatetime, BeforeValidator

INT32_MAX = 2**31 - 1
# Any string without a NUL character (PostgreSQL text cannot hold one): for ``pattern=``.
NO_NUL = r"^[^\x00]*$"

Id = Annotated[int, Path(ge=1, le=INT32_MAX, description="A row id (1 .. 2^31-1).")]
IdQuery = Annotated[int, Query(ge=1, le=INT32_MAX, description="A row id (1 .. 2^31-1).")]
OptionalIdQuery = Annotated[int | None, Query(ge=1, le=INT32_MAX, description="A row id (1 .. 2^31-1).")]
Offset = Annotated[int, Query(ge=0, le=INT32_MAX, description="Rows to skip (0 .. 2^31-1).")]


def iso_text(value: Any) -> Any:
    """Dates and times come as ISO 8601 text: pydantic would also take a number as a Unix time, which
    the OpenAPI document (``format: date-time``) does not allow and no user means."""
    if isinstance(value, datetime | date):
        return value
    if not isinstance(value, str) or _NUMBER.fullmatch(value.strip()):
        raise ValueError("write an ISO 8601 date or date-time, e.g. 2026-01-31 or 2026-01-31T08:00:00+07:00")
    return value


_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]+)?")
IsoDate = Annotated[date, BeforeValidator(iso_text)]
IsoDateTime = Annotated[AwareDatetime, BeforeValidator(iso_text)]
