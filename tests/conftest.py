"""Shared fixtures: a real database (a SQLite file, and PostgreSQL when configured) and a collector app.

The suite runs in parallel (pytest-xdist, the README's command). Every session fixture is made once per
worker, on names of its own (a PostgreSQL database per worker, tmp_path directories, free ports, network
namespaces named after the process). Workers take whole files (``--dist loadfile``, pyproject.toml), so a
module-scoped fixture (a seeded city, a served collector, a network lab) is built once, not once per worker.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.helpers import truncate_all

FIXTURES = Path(__file__).parent / "fixtures"
PG_URL_ENV = "WARDWATCH_TEST_DATABASE_URL"

# Reports are ingested in a worker thread of the test process, not in an ingest process
# (collector.services.ingest_pool, a real collector's default): most tests build an app per test from
# CollectorSettings(), and each app's ingest process is a fresh interpreter that imports the collector,
# about a second per app on this machine; many tests also patch what the ingest calls, which a monkeypatch
# of the test process cannot reach in another process. The process path has tests of its own, served by
# uvicorn with ``ingest_processes=1`` (tests/collector/test_ingest_processes.py, test_ingest_off_loop.py).
# Collectors the tests start as processes inherit this too.
os.environ.setdefault("WARDWATCH_INGEST_PROCESSES", "0")


def _collector_available() -> bool:
    try:
        import fastapi  # noqa: F401
        import sqlmodel  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashes() -> Iterator[None]:
    """argon2 at its lowest cost in the test process. PasswordHasher's defaults (64 MiB, 3 passes, 4 lanes)
    cost 0.05 s quiet and 0.7 s per hash on the busy 2-core machine, paid for every user a test makes and
    every login; the lowest cost is ~1 ms. Still real argon2id hashes. Collectors started as processes keep
    the real cost, and so does a test that requests ``real_password_hashing``."""
    try:
        from argon2 import PasswordHasher

        from collector import security
    except ImportError:  # no collector extras: nothing hashes passwords
        yield
        return
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(security, "_hasher", cheap)
        patch.setattr(security, "_DUMMY_HASH", cheap.hash("wardwatch-dummy-password"))
        yield


@pytest.fixture(autouse=True, scope="session")
def _route_state_once_per_process() -> Iterator[None]:
    """FastAPI's analysis of each route once per test process, not per test app (tests/route_state.py)."""
    from tests.route_state import share_route_state

    undo = share_route_state()
    try:
        yield
    finally:
        undo()


@pytest.fixture
def real_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The collector's own argon2 cost, for a test that measures how long a login takes."""
    from argon2 import PasswordHasher

    from collector import security

    real = PasswordHasher()
    monkeypatch.setattr(security, "_hasher", real)
    monkeypatch.setattr(security, "_DUMMY_HASH", real.hash("wardwatch-dummy-password"))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each test gets a copy (migrating per test would cost seconds)."""
    from collector.migrate import upgrade

    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@contextmanager
def own_pg_database(label: str) -> Iterator[str]:
    """A PostgreSQL database of its own (``ww_<label>_<worker>_<random>``), migrated, dropped at the end."""
    base = os.environ.get(PG_URL_ENV)
    if not base:
        pytest.skip(f"{PG_URL_ENV} is not set: no PostgreSQL server to test against")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from collector.migrate import upgrade

    url = make_url(base)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")  # gw0, gw1... under pytest-xdist
    name = f"ww_{label}_{worker}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    test_url = url.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(test_url)
        yield test_url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, migrated, dropped at the end."""
    with own_pg_database("test") as url:
        yield url


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated, empty database for one module's shared fixtures: a SQLite file, then a PostgreSQL
    database of the module's own (not the session's, which ``database_url`` empties before each test)."""
    if not _collector_available():
        pytest.skip("collector extras are not installed")
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("module-db") / "wardwatch.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
    else:
        with own_pg_database("module") as url:
            yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database: a SQLite file, then the real PostgreSQL when configured."""
    yield empty_database(request, tmp_path)


def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """``database_url``'s database for ``request.param`` (a folder's conftest that overrides
    ``database_url`` falls back on it)."""
    if not _collector_available():
        pytest.skip("collector extras are not installed")
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "wardwatch.db"
        shutil.copy(template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_database")
    truncate_all(url)
    return url


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A migrated SQLite file only, for tests whose subject is not the database engine."""
    path = tmp_path / "wardwatch.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def settings(database_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    from collector.settings import CollectorSettings

    return CollectorSettings(database_url=database_url, data_dir=tmp_path / "data")


@pytest.fixture
def app(settings):  # type: ignore[no-untyped-def]
    from collector.app import create_app

    app = create_app(settings)
    yield app
    app.state.engine.dispose()


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c


@pytest.fixture
def softhsm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A real PKCS#11 token store (SoftHSM2) of this test's own; see tests/softhsm.py."""
    from tests.softhsm import make_softhsm

    return make_softhsm(tmp_path, monkeypatch)


# Longest files first. Workers take whole files (``--dist loadfile``), one at a time as they finish; by
# default pytest-xdist hands out the files with the most tests first, which left the files of one or two
# long tests (a browser crawl, the HAProxy kill, Schemathesis) for the end, one worker running them
# while the other had nothing left: minutes of the run. Handing out the longest first lets the many
# short files fill in at the end (pyproject.toml turns xdist's own reordering off). The list is the
# files over ~10 s in ``pytest --durations=60``, longest first; a file moved or renamed must be moved
# here too (the run refuses to start otherwise).
LONGEST_FIRST = (
    "tests/e2e/browser/test_csp_browser.py",
    "tests/collector/test_schemathesis.py",
    "tests/agent/test_faults.py",
    "tests/collector/test_cli_admin.py",
    "tests/agent/test_commands.py",
    "tests/e2e/test_haproxy_scaleout.py",
    "tests/e2e/test_up.py",
    "tests/e2e/browser/test_inspections_browser.py",
    "tests/inventory/netdevices/test_driver_contract.py",
    "tests/e2e/deploy/test_files.py",
    "tests/agent/lan/test_scan_netns.py",
    "tests/collector/inspections/test_backup.py",
    "tests/collector/inspections/test_signing_cert.py",
    "tests/collector/inspections/test_publishing.py",
    "tests/e2e/browser/test_console_browser.py",
    "tests/e2e/browser/test_notifications_browser.py",
    "tests/e2e/browser/test_browser.py",
    "tests/collector/inspections/test_key_rotation.py",
    "tests/e2e/deploy/test_tls.py",
    "tests/collector/test_jobs.py",
    "tests/agent/test_capabilities.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = Path(str(config.rootpath))
    missing = [name for name in LONGEST_FIRST if not (root / name).is_file()]
    if missing:
        raise pytest.UsageError(f"tests/conftest.py LONGEST_FIRST names files that do not exist: {missing}")
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(
        key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank))
    )  # stable: the rest keep their order
