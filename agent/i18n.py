"""The agent's messages for people, in the process language: a small gettext lookup (standard library).

The agent may not import ``collector.i18n`` (layering: inventory <- checks <- agent <- collector) and the
long-running agent holds only the standard library, so this reads its own catalog,
``agent/locales/<lang>/agent.po``, with a few lines of parsing (no compile step, no Babel). The msgid is
the English text, as in the collector's catalogs; ``%(name)s`` placeholders are filled after lookup.

The language is chosen as the collector's commands choose it (``collector.i18n.process_language``):
``WARDWATCH_LANG`` (``vi``/``en``), else Vietnamese when the locale (``LC_ALL``, ``LC_MESSAGES``,
``LANG``: the first one set) starts with ``vi``, else English. Machine output (JSON, ids, keys) is never
translated.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Callable
from functools import cache
from importlib import resources

LANGUAGES = ("vi", "en")


def N_(message: str) -> str:
    """Mark a msgid where it is defined; it is translated where it is shown."""
    return message


def process_language() -> str:
    chosen = os.environ.get("WARDWATCH_LANG", "").strip().lower()
    if chosen in LANGUAGES:
        return chosen
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        if value:
            return "vi" if value.lower().startswith("vi") else "en"
    return "en"


def parse_po(text: str) -> dict[str, str]:
    """msgid -> msgstr of a .po file (no plurals, no contexts: the agent's catalog has neither);
    fuzzy and untranslated entries are left out."""
    out: dict[str, str] = {}
    fields: dict[str, str] = {}
    current: str | None = None
    fuzzy = False

    def flush() -> None:
        msgid, msgstr = fields.get("msgid", ""), fields.get("msgstr", "")
        if msgid and msgstr and not fuzzy:
            out[msgid] = msgstr

    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if current == "msgstr":  # a comment starts the next entry
                flush()
                fields, current, fuzzy = {}, None, False
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
            continue
        keyword, _, rest = line.partition(" ")
        if keyword in ("msgid", "msgstr"):
            if keyword == "msgid" and current == "msgstr":  # the next entry, without comments
                flush()
                fields, fuzzy = {}, False
            current = keyword
            fields[current] = _unquote(rest)
        elif line.startswith('"') and current is not None:
            fields[current] += _unquote(line)
    if current == "msgstr":
        flush()
    return out


def _unquote(text: str) -> str:
    value = ast.literal_eval(text.strip())  # a C-style quoted string: "...", with \n \" \\ escapes
    return value if isinstance(value, str) else ""


@cache
def catalog(lang: str) -> dict[str, str]:
    entry = resources.files("agent").joinpath("locales", lang, "agent.po")
    if not entry.is_file():
        return {}
    return parse_po(entry.read_text(encoding="utf-8"))


def translator(lang: str) -> Callable[..., str]:
    table = catalog(lang)

    def gettext(message: str, /, **params: object) -> str:
        text = table.get(message, message)
        return text % params if params else text

    return gettext


def _(message: str, /, **params: object) -> str:
    """The msgid in the process language (read on each call, so tests and callers may set it)."""
    text = catalog(process_language()).get(message, message)
    return text % params if params else text
