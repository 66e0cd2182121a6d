"""Texts the collector writes outside the console's templates have Vietnamese too: change-history
sentences, notification e-mails and the digest, event labels, and the errors the notifications and
history forms show. (tests/collector/test_i18n.py covers collector/web; these live in services.)"""

from __future__ import annotations

import ast
from importlib import resources
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file

from collector.services.history_text import CATEGORY_LABELS, SENTENCES
from collector.services.notify_events import EVENT_TYPES
from collector.web.i18n import catalog

SERVICES = Path(str(resources.files("collector.services")))
MODULES = ["notify_events.py", "notify_delivery.py", "history_text.py"]
# Modules whose ServiceError/Conflict messages a form shows through _().
ERROR_MODULES = ["notify_subscriptions.py"]


def gettext_calls() -> set[str]:
    found: set[str] = set()
    for name in MODULES:
        for _line, message, _comments, _context in extract_from_file(
            "python", SERVICES / name, keywords={"_": None}
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


def error_messages() -> set[str]:
    found: set[str] = set()
    for name in ERROR_MODULES:
        tree = ast.parse((SERVICES / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("ServiceError", "Conflict")
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                found.add(node.args[0].value)
    # resolve_by_user's messages, shown on the finding page
    found |= {
        "this finding closes by itself when its check passes on the device",
        "say what was checked (at least 5 characters)",
        "this finding is already resolved",
    }
    return found


def all_texts() -> list[str]:
    texts = gettext_calls() | error_messages()
    texts |= set(SENTENCES.values()) | set(CATEGORY_LABELS.values())
    texts |= {t.label for t in EVENT_TYPES.values()}
    return sorted(texts)


def test_the_lists_are_not_empty() -> None:
    texts = all_texts()
    assert len(texts) > 50
    assert "Hello %(name)s," in texts and "not an e-mail address" in texts


@pytest.mark.parametrize("text", all_texts())
def test_has_vietnamese(text: str) -> None:
    vi = catalog("vi").get(text)
    assert vi and vi.strip(), f"no Vietnamese for {text!r} in collector/web/locales/vi/*.po"
