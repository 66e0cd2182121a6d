"""Numbers, dates and money as the reader's language writes them, with Babel's locale data.

Vietnamese: ``1.234,5``, dates ``dd/mm/yyyy`` (and ``dd/mm/yyyy HH:mm``), money ``1.000.000 ₫``.
English keeps ISO dates (``2026-12-05``), which the console has always shown. Dates a person reads
are Vietnam time (collector.localtime).
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from typing import Any

from babel import Locale
from babel.dates import format_date as babel_date
from babel.dates import format_datetime as babel_datetime
from babel.numbers import parse_pattern

from collector.localtime import LOCAL_TZ

__all__ = ["LOCAL_TZ", "format_date", "format_day_month", "format_money", "format_number", "parse_user_date"]

# Babel locale per console language; the pseudo-locale formats like English.
_BABEL_LOCALE = {"vi": "vi_VN", "en": "en_US"}
_DATE_PATTERN = {"vi": "dd/MM/yyyy", "en": "yyyy-MM-dd"}


def _locale(lang: str) -> str:
    return _BABEL_LOCALE.get(lang, "en_US")


@cache
def _babel_locale(name: str) -> Locale:
    return Locale.parse(name)


@cache
def _number_pattern(pattern: str) -> Any:
    return parse_pattern(pattern)


def format_decimal(value: float | int, *, format: str, locale: str) -> str:
    """``babel.numbers.format_decimal`` with the locale and the pattern parsed once (both were parsed
    on every call: a sixth of the overview page's time went to formatting its numbers; dates likewise
    take the parsed locale, a third of the certificate calendar's time)."""
    return str(_number_pattern(format).apply(value, _babel_locale(locale), numbering_system="latn"))


def format_date(value: date | datetime | None, lang: str) -> str:
    """A date (dd/mm/yyyy in Vietnamese) or a moment (with HH:mm, Vietnam time); "—" for none."""
    if value is None:
        return "—"
    pattern = _DATE_PATTERN.get(lang, _DATE_PATTERN["en"])
    if isinstance(value, datetime):
        return babel_datetime(
            value.astimezone(LOCAL_TZ), pattern + " HH:mm", locale=_babel_locale(_locale(lang))
        )
    return babel_date(value, pattern, locale=_babel_locale(_locale(lang)))


def format_day_month(value: date, lang: str) -> str:
    """A short day for chart axes: 07/03 in Vietnamese, 03-07 in English."""
    return babel_date(value, "dd/MM" if lang == "vi" else "MM-dd", locale=_babel_locale(_locale(lang)))


def parse_user_date(value: str | None) -> date | None:
    """A date typed by a user: dd/mm/yyyy (how Vietnamese write it) or yyyy-mm-dd; None if neither."""
    text = (value or "").strip()
    for fmt in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def format_number(value: float | int | None, lang: str, digits: int | None = None) -> str:
    """A number as the language writes it: 1.234,5 in Vietnamese, 1,234.5 in English.

    ``digits``: decimals shown; default none for a whole number, one otherwise (87,5).
    """
    if value is None:
        return "—"
    if digits is None:
        digits = 0 if float(value).is_integer() else 1
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=_locale(lang))


def format_money(amount: float | int | None, lang: str = "vi") -> str:
    """Vietnamese đồng in every language: dot as thousands separator, no decimals (1.000.000 ₫)."""
    if amount is None:
        return "—"
    return format_decimal(round(amount), format="#,##0", locale="vi_VN") + " ₫"
