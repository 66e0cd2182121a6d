"""A change record as a sentence in the reader's language (Vietnamese in locales/vi/history.po)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from collector.i18n import translator
from collector.models.history import ChangeEvent

# (kind, action) -> English sentence with %(subject)s, %(before)s, %(after)s and detail placeholders.
SENTENCES: dict[tuple[str, str], str] = {
    ("memory", "increased"): "Memory (RAM) increased from %(before)s to %(after)s",
    ("memory", "decreased"): "Memory (RAM) decreased from %(before)s to %(after)s",
    ("disk", "added"): "Disk %(subject)s added: %(after)s",
    ("disk", "removed"): "Disk %(subject)s removed: %(before)s",
    ("disk", "changed"): "Disk %(subject)s changed from %(before)s to %(after)s",
    ("disk_serial", "changed"): "Disk %(subject)s replaced: %(before)s → %(after)s",
    ("disk_health", "failing"): "Disk %(subject)s is failing: %(after)s",
    ("system_serial", "changed"): "System serial number changed from %(before)s to %(after)s",
    ("system_model", "changed"): "Computer model changed from %(before)s to %(after)s",
    ("bios", "changed"): "BIOS updated from %(before)s to %(after)s",
    ("cpu", "changed"): "Processor changed from %(before)s to %(after)s",
    ("nic", "added"): "Network adapter %(subject)s added (%(after)s)",
    ("nic", "removed"): "Network adapter %(subject)s removed (%(before)s)",
    ("battery", "added"): "Battery %(subject)s added: %(after)s",
    ("battery", "removed"): "Battery %(subject)s removed: %(before)s",
    ("battery", "changed"): "Battery %(subject)s replaced: %(before)s → %(after)s",
    ("os", "upgraded"): "Operating system upgraded from %(before)s to %(after)s",
    ("os", "changed"): "Operating system changed from %(before)s to %(after)s",
    ("kernel", "updated"): "Kernel updated from %(before)s to %(after)s",
    ("software", "installed"): "Installed %(subject)s %(after)s",
    ("software", "removed"): "Removed %(subject)s %(before)s",
    ("software", "updated"): "Updated %(subject)s from %(before)s to %(after)s",
    ("more", "truncated"): "%(after)s more changes in this report are not listed",
    ("config", "changed"): "Configuration changed: %(added)s lines added, %(removed)s removed",
    ("firmware", "changed"): "Firmware (OS version) changed from %(before)s to %(after)s",
    ("device_serial", "changed"): "Serial number changed from %(before)s to %(after)s",
    ("device_model", "changed"): "Model changed from %(before)s to %(after)s",
}

CATEGORY_LABELS = {
    "hardware": "Hardware",
    "software": "Software",
    "os": "Operating system",
    "config": "Configuration",
}


def describe(event: ChangeEvent, lang: str, _: Callable[..., str] | None = None) -> str:
    gettext = _ or translator(lang)
    template = SENTENCES.get((event.kind, event.action))
    params: dict[str, Any] = {
        "subject": event.subject or "",
        "before": event.before or "",
        "after": event.after or "",
        "added": (event.detail or {}).get("added", 0),
        "removed": (event.detail or {}).get("removed", 0),
    }
    if template is None:  # a kind this collector version does not know: say it plainly
        return " ".join(x for x in (event.kind, event.action, event.subject, event.after or "") if x)
    return " ".join(gettext(template, **params).split())


def category_label(category: str, lang: str) -> str:
    return translator(lang)(CATEGORY_LABELS.get(category, category))
