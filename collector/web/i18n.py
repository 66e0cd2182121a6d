"""The console's view of translations and formatting: both live in ``collector.i18n`` (one mechanism,
one formatting module below services, reports and pages); web code may keep importing them from here."""

from __future__ import annotations

from collector.i18n import (
    DEFAULT_LANGUAGE,
    LANG_COOKIE,
    LANGUAGES,
    LOCAL_TZ,
    N_,
    PSEUDO_LOCALE,
    accepted_language,
    catalog,
    format_date,
    format_day_month,
    format_money,
    format_number,
    parse_user_date,
    translator,
)

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "LANG_COOKIE",
    "LOCAL_TZ",
    "N_",
    "PSEUDO_LOCALE",
    "accepted_language",
    "catalog",
    "format_date",
    "format_day_month",
    "format_money",
    "format_number",
    "parse_user_date",
    "translator",
]
