"""gettext catalogs read with Babel: one ``.po`` file per area, merged at start-up (no compile step).

Catalog folders: ``collector/web/locales/<lang>/*.po`` (console, documents, services, commands) and
``checks/locales/<lang>/*.po`` (check titles, rationale, remediation and evidence, which the checks
package owns). msgids are the English text, so English needs no entry unless it differs from the msgid
(a context prefix such as ``"action status: Open"``).

The pseudo-locale ``qps`` (tests only, enabled by ``WARDWATCH_PSEUDO_LOCALE=1``) wraps every translated
string in «…» so a crawl can find text that never went through a catalog.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

from babel.messages.pofile import read_po

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
LANG_COOKIE = "ww_lang"
PSEUDO_LOCALE = "qps"
# Guillemets: the PDF serif font (Liberation Serif) has them, so documents carry the markers too.
PSEUDO_OPEN, PSEUDO_CLOSE = "«", "»"

# (package, folder) of the catalogs, merged in this order (later wins). The folder is reached from the
# top package so that reading catalogs never imports collector.web (FastAPI) into a CLI command.
CATALOG_FOLDERS = (("checks", "locales"), ("collector", "web/locales"))


def N_(message: str) -> str:
    """Mark a msgid for extraction where it is defined; it is translated where it is shown."""
    return message


def pseudo_enabled() -> bool:
    return os.environ.get("WARDWATCH_PSEUDO_LOCALE", "") == "1"


def accepted_language(lang: object) -> str | None:
    """``lang`` if the console can speak it (the pseudo-locale only when enabled for tests), else None."""
    if lang in LANGUAGES:
        return str(lang)
    if lang == PSEUDO_LOCALE and pseudo_enabled():
        return PSEUDO_LOCALE
    return None


def _folders(lang: str) -> list[Traversable]:
    out = []
    for package, path in CATALOG_FOLDERS:
        folder = resources.files(package).joinpath(*path.split("/"), lang)
        if folder.is_dir():
            out.append(folder)
    return out


@cache
def catalog(lang: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for folder in _folders(lang):
        for entry in sorted(folder.iterdir(), key=lambda p: p.name):
            if not entry.name.endswith(".po"):
                continue
            with entry.open("rb") as fh:
                for msg in read_po(fh, locale=lang):
                    if msg.id and msg.string and not msg.fuzzy:
                        merged[str(msg.id)] = str(msg.string)
    return merged


def localized(message: str) -> dict[str, str]:
    """``{"vi": ..., "en": ...}`` for the API and JSON exports, which carry both languages."""
    return {lang: translator(lang)(message) for lang in LANGUAGES}


def process_language() -> str:
    """The language of command-line messages: ``WARDWATCH_LANG`` (vi or en), else Vietnamese when the
    locale (LC_ALL, LC_MESSAGES, LANG: the first one set) starts with ``vi``, else English. Commands run
    by administrators on servers whose locale is usually C or en_US, hence English by default."""
    chosen = os.environ.get("WARDWATCH_LANG", "").strip().lower()
    if chosen in LANGUAGES:
        return chosen
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        if value:
            return "vi" if value.lower().startswith("vi") else "en"
    return "en"


def cli_gettext(message: str, /, **params: object) -> str:
    """``_()`` of commands: the msgid in the process language (read on each call, so tests can set it)."""
    return translator(process_language())(message, **params)


def translator(lang: str) -> Callable[..., str]:
    """``_(msgid, **params)``: the text in ``lang`` with ``%(name)s`` placeholders filled."""
    if lang == PSEUDO_LOCALE and pseudo_enabled():
        english = catalog("en")

        def pseudo(message: str, /, **params: object) -> str:
            text = english.get(message, message)
            return PSEUDO_OPEN + (text % params if params else text) + PSEUDO_CLOSE

        return pseudo
    table = catalog(lang if lang in LANGUAGES else DEFAULT_LANGUAGE)

    def gettext(message: str, /, **params: object) -> str:
        text = table.get(message, message)
        return text % params if params else text

    return gettext
