"""Spreadsheet-safe cells for every CSV and XLSX the collector writes (OWASP "CSV injection").

Text in exports comes from agents (serials, hostnames), imports and edits: a cell that starts with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as a formula by Excel and LibreOffice
(``=HYPERLINK(...)``, ``=WEBSERVICE(...)``). CSV cells get a leading single quote; XLSX text cells are
written as string cells (never formulas) with Excel's quote prefix, so the text shows as it is.
Numbers, dates and ``None`` pass unchanged: a spreadsheet must still sum money.
"""

from __future__ import annotations

import re
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def is_formula_like(text: str) -> bool:
    return text.startswith(FORMULA_STARTS)


def safe_cell(value: Any) -> Any:
    """``value`` as a CSV cell a spreadsheet will not evaluate: text that could start a formula gets a
    leading ``'``; anything that is not text (numbers, dates, None) is returned unchanged."""
    if isinstance(value, str) and is_formula_like(value):
        return "'" + value
    return value


# Control characters XML 1.0 cannot carry (openpyxl refuses them): shown as U+FFFD instead.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def xml_text(text: str) -> str:
    """``text`` without the control characters an XLSX (XML 1.0) cannot hold."""
    return _XML_ILLEGAL.sub("\ufffd", text)


def set_xlsx_cell(cell: Any, value: Any) -> None:
    """Write ``value`` into an openpyxl cell; text is always a string cell, never a formula."""
    if isinstance(value, str):
        value = xml_text(value)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
        if is_formula_like(value):
            cell.quotePrefix = True


def append_xlsx_row(sheet: Any, values: list[Any]) -> None:
    """``sheet.append`` that keeps text as text (openpyxl's append makes ``=...`` a formula)."""
    sheet.append([None if isinstance(v, str) else v for v in values])
    row = sheet.max_row
    for i, value in enumerate(values, start=1):
        if isinstance(value, str):
            set_xlsx_cell(sheet.cell(row=row, column=i), value)
