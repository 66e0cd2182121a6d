"""Reading an uploaded CSV file: one set of rules for every import (sites, the asset register).

- a UTF-8 byte order mark is dropped (Excel writes one);
- the separator is the one the header line uses: ``,``, ``;`` (Excel on a Vietnamese Windows) or tab;
- the header is read case- and space-insensitively, optionally through aliases (Vietnamese headers);
- quoting is strict: an unterminated quote is an error naming its line, never a field that swallows
  the rest of the file;
- blank lines are skipped; a row with more non-empty fields than the header has columns is an error
  (empty trailing fields, as spreadsheets write them, are not);
- every error names the line (of the file, so a quoted multi-line field counts its lines) and nothing
  is written: the caller checks every row before it changes anything.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass

from collector.services.errors import ServiceError

MAX_ROWS = 20_000
SEPARATORS = ",;\t"


@dataclass
class CsvTable:
    columns: list[str]  # the header's known columns, normalised (unknown ones left out)
    rows: list[tuple[int, dict[str, str]]]  # (line where the record starts, column -> stripped value)


def separator(text: str) -> str:
    """The separator the header line uses."""
    header = text.split("\n", 1)[0]
    try:
        return csv.Sniffer().sniff(header, delimiters=SEPARATORS).delimiter
    except csv.Error:
        return max(SEPARATORS, key=lambda d: (header.count(d), d == ","))


def read_csv(text: str, *, aliases: Mapping[str, str] | None = None, max_rows: int = MAX_ROWS) -> CsvTable:
    """Parse ``text`` by the rules above. ``aliases``: header (lower case) -> column; a header not in
    it is ignored. Without ``aliases`` every header is a column under its lower-case name."""
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise ServiceError("the CSV file is empty")
    reader = csv.reader(io.StringIO(text), delimiter=separator(text), strict=True)
    line = 1
    try:
        header = next(reader)
        names = [raw.strip().lower() for raw in header]
        columns = [aliases.get(n, "") for n in names] if aliases is not None else names
        rows: list[tuple[int, dict[str, str]]] = []
        line = reader.line_num + 1
        for values in reader:
            start, line = line, reader.line_num + 1
            if not any(v.strip() for v in values):
                continue
            if any(v.strip() for v in values[len(columns) :]):
                raise ServiceError(
                    "line %(start)s: more fields than the header's %(n)s", start=start, n=len(columns)
                )
            if len(rows) >= max_rows:
                raise ServiceError("the CSV has more than %(max_rows)s rows; split it", max_rows=max_rows)
            rows.append((start, {c: v.strip() for c, v in zip(columns, values, strict=False) if c}))
    except StopIteration:
        raise ServiceError("the CSV file is empty") from None
    except csv.Error as exc:
        raise ServiceError("line %(line)s: not valid CSV: %(exc)s", line=line, exc=exc) from None
    return CsvTable([c for c in columns if c], rows)
