"""Browser test fixtures: Chromium per module, fresh contexts per test, and a seeded collector served by
uvicorn on a free port (helpers: tests/collector/web/support.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.collector.web.support import CHROMIUM_ARGS, LiveServer, make_app, seed, serving


@pytest.fixture(scope="session")
def live_server(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A real collector served by uvicorn in a thread, on a migrated, seeded SQLite file."""
    import httpx

    db = tmp_path_factory.mktemp("live") / "wardwatch.db"
    shutil.copy(sqlite_template, db)
    app = make_app(db)
    with serving(app) as url:
        with httpx.Client(base_url=url) as http:
            seeded = seed(app.state.engine, http)
        yield LiveServer(url=url, seeded=seeded, engine=app.state.engine)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for one test module. Not per session: Playwright's sync API keeps its event loop marked
    running in the main thread while it is open, so every later asyncio.run() in that process (PDF
    signing, validation) failed once pytest-xdist gave a worker other files after a browser file."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Any]:
    """A page factory: each call is a fresh browser context (its own cookies) at a given size."""
    contexts: list[Any] = []

    def make(width: int = 1280, height: int = 900) -> Any:
        ctx = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN")
        contexts.append(ctx)
        return ctx.new_page()

    yield make
    for ctx in contexts:
        ctx.close()
