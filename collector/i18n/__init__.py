"""The one translation mechanism and the one place numbers, dates and money are formatted.

Every text a person reads (pages, flash and error messages, check titles and evidence, plan and
certificate reasons, feeds, e-mails, documents, CLI messages) is an English msgid looked up in the
gettext catalogs (``.po`` files read with Babel) at display time in the reader's language. Services,
reports and commands import from here, never from ``collector.web``.
"""

from __future__ import annotations

from collector.i18n.catalog import (
    DEFAULT_LANGUAGE,
    LANG_COOKIE,
    LANGUAGES,
    N_,
    PSEUDO_LOCALE,
    accepted_language,
    catalog,
    cli_gettext,
    localized,
    process_language,
    translator,
)
from collector.i18n.format import (
    LOCAL_TZ,
    format_date,
    format_day_month,
    format_money,
    format_number,
    parse_user_date,
)
from collector.i18n.messages import Message, evidence_text, render_message

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "LANG_COOKIE",
    "LOCAL_TZ",
    "Message",
    "N_",
    "PSEUDO_LOCALE",
    "accepted_language",
    "catalog",
    "cli_gettext",
    "evidence_text",
    "format_date",
    "format_day_month",
    "format_money",
    "format_number",
    "localized",
    "process_language",
    "parse_user_date",
    "render_message",
    "translator",
]
