"""The console tests share one seeded city per module and database (SQLite, then PostgreSQL)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.collector.console.world import City, build


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def city(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[City]:
    from fastapi.testclient import TestClient

    from collector.app import create_app
    from collector.settings import CollectorSettings

    tmp = tmp_path_factory.mktemp("city")
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        shutil.copy(template, tmp / "wardwatch.db")
        url = f"sqlite:///{tmp / 'wardwatch.db'}"
    else:
        from tests.helpers import truncate_all

        url = request.getfixturevalue("pg_database")
        truncate_all(url)
    # overview.daily off: the tests run it themselves (a GET of the overview must not write).
    settings = CollectorSettings(database_url=url, data_dir=tmp / "data", overview_interval_minutes=0)
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield build(client, app.state.engine)
    app.state.engine.dispose()


def get(city: City, path: str, **params: Any) -> Any:
    return city.client.get(path, params=params, headers=city.admin)
