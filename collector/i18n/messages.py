"""Structured texts: a message id (an English msgid with ``%(name)s`` placeholders) and its parameters.

Check evidence, plan reasons and certificate reasons are stored as ``{"id": ..., "params": {...}}``
and rendered when shown, in the reader's language: numbers in params follow the locale. Evidence
stored before messages existed is plain English; ``from_english`` turns it back into a message through
the compatibility map (each known msgid, read as a pattern), so old findings read in Vietnamese too.
"""

from __future__ import annotations

import re
from datetime import date
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from collector.i18n.catalog import translator
from collector.i18n.format import format_date, format_number

_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Message(BaseModel):
    """A text to render later: ``id`` is the English msgid, ``params`` fill its placeholders."""

    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1, max_length=500)
    params: dict[str, Any] = Field(default_factory=dict)


def _param(value: Any, lang: str, _: Any) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return format_number(value, lang)
    if isinstance(value, dict) and "id" in value:  # a nested message (a reason inside a reason)
        return render_message(value, lang)
    if isinstance(value, list):
        return ", ".join(_param(v, lang, _) for v in value)
    if isinstance(value, str) and (value in _terms() or _has_phrase(value)):
        return _text_param(value, lang, _)  # words the evaluator wrote, checks.model.term()
    if isinstance(value, str) and _ISO_DAY.match(value):
        return format_date(date.fromisoformat(value), lang)  # 2026-11-02 -> 02/11/2026 in Vietnamese
    return str(value)


@cache
def _terms() -> frozenset[str]:
    from collector.i18n.compat import evidence_msgids

    return frozenset(m for m in evidence_msgids() if "%(" not in m)


@cache
def _phrases() -> tuple[tuple[str, re.Pattern[str]], ...]:
    from collector.i18n.compat import phrase_msgids

    pats = [(msgid, _pattern(msgid)) for msgid in phrase_msgids()]
    pats.sort(key=lambda p: -len(_PLACEHOLDER.sub("", p[0])))
    return tuple(pats)


def _phrase(text: str) -> Message | None:
    """The term-with-data ("%(line)s: never") an evaluator wrote as ``text``, if one matches."""
    for msgid, pattern in _phrases():
        found = pattern.match(text)
        if found:
            params = {k: v if k in _TEXT_PARAMS else _number(v) for k, v in found.groupdict().items()}
            return Message(id=msgid, params=params)
    return None


def _has_phrase(text: str) -> bool:
    """Whether ``text``, or an item of it as a "; " or ", " list, is a term or a term around data.
    Cheap words first: most parameters are data (hostnames, versions) without a separator."""
    if _phrase(text):
        return True
    return any(p in _terms() or _phrase(p) for sep in ("; ", ", ") if sep in text for p in text.split(sep))


def _text_param(text: str, lang: str, _: Any) -> str:
    """A parameter the evaluator wrote with terms: the whole text, else each item of its list."""
    if text in _terms():
        return str(_(text))
    for sep in ("; ", ", "):
        if sep in text:
            parts = text.split(sep)
            shown = [_text_param(p, lang, _) if (p in _terms() or _phrase(p)) else p for p in parts]
            if shown != parts:
                return sep.join(shown)
    found = _phrase(text)
    return render_message(found, lang) if found else text


def render_message(message: Message | dict[str, Any], lang: str) -> str:
    """The message in ``lang``; a placeholder without a parameter stays visible rather than failing."""
    msg = message if isinstance(message, Message) else Message.model_validate(message)
    _ = translator(lang)
    params = {k: _param(v, lang, _) for k, v in msg.params.items()}
    for name in _PLACEHOLDER.findall(msg.id):
        params.setdefault(name, "?")
    try:
        return _(msg.id, **params) if params else _(msg.id)
    except (KeyError, ValueError, TypeError):
        return msg.id


# ---- compatibility map: English evidence stored before messages -------------------------------------


def _pattern(msgid: str) -> re.Pattern[str]:
    parts = _PLACEHOLDER.split(msgid)
    # split gives text, name, text, name, ...: placeholders match lazily, anything but nothing.
    out = []
    for i, part in enumerate(parts):
        out.append(re.escape(part.replace("%%", "%")) if i % 2 == 0 else f"(?P<{part}>.+?)")
    return re.compile("^" + "".join(out) + "$", re.DOTALL)


@cache
def _compat_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    from collector.i18n.compat import RENAMED, evidence_msgids, phrase_msgids

    phrases = set(phrase_msgids())  # patterns over a parameter, not over a whole evidence text
    pats = [(msgid, _pattern(msgid)) for msgid in evidence_msgids() if msgid not in phrases]
    # Most specific first: the longest literal text wins over a pattern that is mostly placeholders.
    pats.sort(key=lambda p: -len(_PLACEHOLDER.sub("", p[0])))
    renamed = [(msgid, re.compile(regex, re.DOTALL)) for regex, msgid in RENAMED.items()]
    return tuple(renamed + pats)


def _number(value: str) -> Any:
    """A number written by the English evidence (78, 12.5) becomes a number again (shown 12,5 in vi)."""
    if re.fullmatch(r"\d+", value):
        return int(value)
    if re.fullmatch(r"\d+\.\d+", value):
        return float(value)
    return value


# Parameters that look like numbers but are identifiers: "TPM 2.0", a disk serial "12345", firmware 15.2.
_TEXT_PARAMS = frozenset(
    {
        "version",
        "minimum",
        "serial",
        "old_serial",
        "value",
        "model",
        "os",
        "label",
        "ports",
        "host",
        "ip",
        "gen",
    }
)


def from_english(text: str) -> Message | None:
    """The message an old English evidence string was rendered from, if the compatibility map knows it."""
    for msgid, pattern in _compat_patterns():
        found = pattern.match(text)
        if found:
            params: dict[str, Any] = {}
            for key, value in found.groupdict().items():
                params[key] = value if key in _TEXT_PARAMS else _number(value)
            return Message(id=msgid, params=params)
    return None


def evidence_text(evidence: str, message: Message | dict[str, Any] | None, lang: str) -> str:
    """Evidence in ``lang``: the structured message when there is one, else the compatibility map,
    else the stored text as it is (data the agent reported, e.g. an error message of the OS)."""
    if message:
        return render_message(message, lang)
    if not evidence:
        return ""
    old = from_english(evidence)
    return render_message(old, lang) if old else evidence
