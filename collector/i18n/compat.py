"""The compatibility map: evidence agents sent as English text before evidence had message ids.

Every msgid of the evidence catalog (``checks/locales/vi/evidence.po``) is one entry: it is read as a
pattern (placeholders match the data) over stored English evidence, which then renders in the reader's
language. ``RENAMED`` maps old English wordings that no msgid reproduces any more to the message now
used, so an evaluator may reword its evidence without leaving old findings untranslated.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from babel.messages.pofile import read_po

# Old English wording (a regex with named groups) -> the msgid it is shown as now.
RENAMED: dict[str, str] = {
    # Before messages, an unnamed mechanism read "automatic updates on (automatic updates)".
    r"^automatic updates on \(automatic updates\)$": "automatic updates on",
    r"^automatic updates off \(automatic updates\)$": "automatic updates off",
}


# The catalog of words and phrases evaluators fill into parameters (checks.model.term): those with
# placeholders are read back as patterns over a parameter's text, never over a whole evidence text.
TERMS_FILE = "evidence_terms.po"


@cache
def phrase_msgids() -> tuple[str, ...]:
    """Term msgids around data ("%(line)s: never", "RAM %(gb)s GB")."""
    entry = resources.files("checks").joinpath("locales", "vi", TERMS_FILE)
    if not entry.is_file():
        return ()
    with entry.open("rb") as fh:
        return tuple(str(m.id) for m in read_po(fh, locale="vi") if m.id and "%(" in str(m.id))


@cache
def evidence_msgids() -> tuple[str, ...]:
    folder = resources.files("checks").joinpath("locales", "vi")
    out: list[str] = []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.startswith("evidence") and entry.name.endswith(".po"):
            with entry.open("rb") as fh:
                out += [str(m.id) for m in read_po(fh, locale="vi") if m.id]
    return tuple(out)
