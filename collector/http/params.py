"""Parameter types shared by routes, bounded to what the database can hold.

Row ids are INTEGER columns: PostgreSQL's hold at most 2^31-1 (SQLite's 2^63-1); an id or an offset
beyond that is a 422 on both databases instead of an overflow deep in the driver (a 500 before).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import AfterValidator, AwareDatetime, BeforeValidator
from pydantic_core import PydanticCustomError

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


def explained_query(default: Any, *, pattern: str, explain: Callable[[str], str], **kwargs: Any) -> Any:
    """A query parameter whose OpenAPI schema has ``pattern`` and whose 422 says in words what was wrong:
    pydantic's own message ("String should match pattern '^\\s*[-+]*(hostname|site...'") tells a user
    nothing. ``explain(value)`` is the message for a value that does not match."""
    compiled = re.compile(pattern)

    def check(value: Any) -> Any:
        if isinstance(value, str) and not compiled.search(value):
            raise PydanticCustomError("string_pattern_mismatch", "{reason}", {"reason": explain(value)})
        return value

    def schema(node: dict[str, Any]) -> None:
        # On the string itself (not beside an ``anyOf`` with null), where ``pattern=`` would have put it.
        for branch in node.get("anyOf", [node]):
            if branch.get("type") == "string":
                branch["pattern"] = pattern

    query: Any = Query(default, json_schema_extra=schema, **kwargs)
    query.metadata.append(AfterValidator(check))
    return query
