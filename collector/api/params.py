"""Parameter types shared by routes, bounded to what the database can hold.

Row ids are INTEGER columns: PostgreSQL's hold at most 2^31-1 (SQLite's 2^63-1); an id or an offset
beyond that is a 422 on both databases instead of an overflow deep in the driver (a 500 before).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

INT32_MAX = 2**31 - 1
# Any string without a NUL character (PostgreSQL text cannot hold one): for ``pattern=``.
NO_NUL = r"^[^\x00]*$"

Id = Annotated[int, Path(ge=1, le=INT32_MAX, description="A row id (1 .. 2^31-1).")]
IdQuery = Annotated[int, Query(ge=1, le=INT32_MAX, description="A row id (1 .. 2^31-1).")]
OptionalIdQuery = Annotated[int | None, Query(ge=1, le=INT32_MAX, description="A row id (1 .. 2^31-1).")]
Offset = Annotated[int, Query(ge=0, le=INT32_MAX, description="Rows to skip (0 .. 2^31-1).")]
