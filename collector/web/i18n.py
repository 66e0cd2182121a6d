"""Translations: Babel-read gettext catalogs, one ``.po`` file per area of the console.

``collector/web/locales/<lang>/*.po`` are merged at start-up (no compile step): each capability keeps
its own file, so adding pages never means editing one shared catalog. Vietnamese is the default.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from functools import cache
from importlib import resources

from babel.messages.pofile import read_po

from collector.localtime import LOCAL_TZ

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
LANG_COOKIE = "ww_lang"


@cache
def catalog(lang: str) -> dict[str, str]:
    folder = resources.files("collector.web") / "locales" / lang
    merged: dict[str, str] = {}
    if not folder.is_dir():
        return merged
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if not entry.name.endswith(".po"):
            continue
        with entry.open("rb") as fh:
            for msg in read_po(fh, locale=lang):
                if msg.id and msg.string and not msg.fuzzy:
                    merged[str(msg.id)] = str(msg.string)
    return merged


def translator(lang: str) -> Callable[..., str]:
    table = catalog(lang if lang in LANGUAGES else DEFAULT_LANGUAGE)

    def gettext(message: str, **params: object) -> str:
        text = table.get(message, message)
        return text % params if params else text

    return gettext


def format_date(value: date | datetime | None, lang: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = value.astimezone(LOCAL_TZ)
        return value.strftime("%d/%m/%Y %H:%M") if lang == "vi" else value.strftime("%Y-%m-%d %H:%M")
    return value.strftime("%d/%m/%Y") if lang == "vi" else value.isoformat()


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
    text = f"{value:,.{digits}f}"
    if lang == "vi":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def format_money(amount: float | int | None) -> str:
    """Vietnamese đồng: dot as thousands separator, no decimals (1.000.000 ₫)."""
    if amount is None:
        return "—"
    return f"{round(amount):,}".replace(",", ".") + " ₫"
