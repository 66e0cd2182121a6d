"""Every string the inspection pages show has its Vietnamese translation (Vietnamese is the default)."""

from __future__ import annotations

import re
from pathlib import Path

from collector.web.i18n import catalog, translator

WEB = Path(__file__).resolve().parents[3] / "collector" / "web"
FILES = [
    *(
        WEB / "templates" / f"{name}.html"
        for name in (
            "inspections",
            "inspection_fill",
            "_inspection_actions",
            "published_report",
            "published_index",
        )
    ),
    WEB / "routes" / "inspections.py",
    WEB / "routes" / "published.py",
]
CALL = re.compile(r'''\b_\(\s*"((?:[^"\\]|\\.)*)"''')


def our_strings() -> set[str]:
    found = set()
    for path in FILES:
        found.update(CALL.findall(path.read_text(encoding="utf-8")))
    macros = (WEB / "templates" / "_macros.html").read_text(encoding="utf-8")
    found.update(CALL.findall(macros.split("--- inspections", 1)[1]))
    from collector.web.routes import inspections, published

    specs = [inspections.PLUGIN, published.PLUGIN]
    found.update(link.label for spec in specs for link in (*spec.nav, *spec.site_tabs, *spec.device_tabs))
    return found


def test_every_string_has_a_vietnamese_translation() -> None:
    vi = catalog("vi")
    strings = our_strings()
    assert len(strings) > 80  # the extraction found the pages' strings
    missing = sorted(m for m in strings if not vi.get(m))
    assert not missing, f"no Vietnamese in collector/web/locales/vi/*.po for: {missing}"
    placeholders = {
        m for m in strings if set(re.findall(r"%\(\w+\)s", m)) != set(re.findall(r"%\(\w+\)s", vi[m]))
    }
    assert not placeholders, (
        f"translations that lose or invent a %(name)s placeholder: {sorted(placeholders)}"
    )


def test_status_words_with_a_context_prefix_read_plainly_in_english() -> None:
    assert translator("en")("action status: Open") == "Open"
    assert translator("vi")("action status: Open") == "Chưa thực hiện"
