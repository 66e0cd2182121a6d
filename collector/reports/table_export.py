"""A console table as a file: CSV (UTF-8 with BOM, so Excel reads Vietnamese) or XLSX (typed cells).

Every cell goes through ``spreadsheet.safe_cell``; XLSX text cells are stored as strings, never as
formulas. Numbers stay numbers and dates stay dates (in Vietnam time) so a spreadsheet can sort and
sum them. The XLSX is written in openpyxl's streaming mode: 100,000 rows in bounded memory.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from collector.localtime import LOCAL_TZ
from collector.reports.spreadsheet import safe_cell, xml_text

MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class ExportColumn:
    key: str
    title: str  # already in the export's language
    kind: str = "text"  # text, int, float, date, datetime
    width: int = 18


def _plain(value: Any, kind: str) -> Any:
    """The CSV text of a cell."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return str(value)
    return safe_cell(str(value))


def to_csv(columns: Sequence[ExportColumn], rows: Iterable[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(c.title) for c in columns])
    for row in rows:
        writer.writerow([_plain(row.get(c.key), c.kind) for c in columns])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(columns: Sequence[ExportColumn], rows: Iterable[dict[str, Any]], *, sheet: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title="".join(ch for ch in sheet if ch not in "[]:*?/\\")[:31] or "Sheet")
    for i, c in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = c.width
    ws.freeze_panes = "A2"
    bold = Font(bold=True)

    def text_cell(value: str, *, font: Any = None) -> Any:
        cell = WriteOnlyCell(ws, value=safe_cell(xml_text(value)))
        cell.data_type = "s"  # a string, whatever it starts with: never a formula
        if font is not None:
            cell.font = font
        return cell

    ws.append([text_cell(c.title, font=bold) for c in columns])
    for row in rows:
        cells: list[Any] = []
        for c in columns:
            value = row.get(c.key)
            if value is None or value == "":
                cells.append(None)
            elif isinstance(value, datetime):
                cell = WriteOnlyCell(ws, value=value.astimezone(LOCAL_TZ).replace(tzinfo=None))
                cell.number_format = "dd/mm/yyyy hh:mm"
                cells.append(cell)
            elif isinstance(value, date):
                cell = WriteOnlyCell(ws, value=value)
                cell.number_format = "dd/mm/yyyy"
                cells.append(cell)
            elif isinstance(value, bool | int | float):
                cells.append(WriteOnlyCell(ws, value=value))
            else:
                cells.append(text_cell(str(value)))
        ws.append(cells)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def render(fmt: str, columns: Sequence[ExportColumn], rows: Iterable[dict[str, Any]], *, sheet: str) -> bytes:
    if fmt == "csv":
        return to_csv(columns, rows)
    if fmt == "xlsx":
        return to_xlsx(columns, rows, sheet=sheet)
    raise ValueError(f"unknown export format {fmt!r}")
