"""Spreadsheet-safe cells: text that a spreadsheet would run as a formula is written as text.

A value starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula (or the start
of one) to Excel and LibreOffice, even in a CSV; agent-reported text (a program's name, a hostname)
is hostile, so every exported text cell goes through ``safe_cell``, which prefixes such a value with
a single quote (OWASP "CSV injection"). XLSX writers store text cells as strings, never formulas.
"""

from __future__ import annotations

from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value`` unchanged unless it is text a spreadsheet would read as a formula; then ``'value``."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value
