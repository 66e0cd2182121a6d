"""Web console fixtures: a seeded collector (devices arrive as real reports from enrolled agents);
helpers in support.py. The browser tests' fixtures are in tests/e2e/browser/conftest.py."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.collector.web.support import Seeded, make_app, seed


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
