"""Web console fixtures: a seeded collector (devices arrive as real reports from enrolled agents),
and, for the browser tests, that collector served by uvicorn on a free port (helpers: support.py)."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.collector.web.support import CHROMIUM_ARGS, LiveServer, Seeded, make_app, seed, serving


@pytest.fixture(scope="session")
def seeded_template(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Seeded]:
    """One seeded collector (its database and data directory) per session; each test works on a copy.
    Seeding (users, enrollments, five real reports) cost 1.5-4.7 s per test on the busy machine."""
    from fastapi.testclient import TestClient

    root = tmp_path_factory.mktemp("seeded")
    db = root / "wardwatch.db"
    shutil.copy(sqlite_template, db)
    app = make_app(db)
    with TestClient(app, raise_server_exceptions=False) as http:
        seeded = seed(app.state.engine, http)
    with app.state.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")  # every row in the file that is copied
    app.state.engine.dispose()
    return root, seeded


@pytest.fixture
def seeded_client(seeded_template: tuple[Path, Seeded], tmp_path: Path) -> Iterator[tuple[Any, Seeded]]:
    """A TestClient on a seeded SQLite collector of this test's own (for page tests without a browser)."""
    from fastapi.testclient import TestClient

    root, seeded = seeded_template
    shutil.copytree(root, tmp_path, dirs_exist_ok=True)
    app = make_app(tmp_path / "wardwatch.db")
    with TestClient(app, raise_server_exceptions=False) as http:
        yield http, copy.deepcopy(seeded)
    app.state.engine.dispose()


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
