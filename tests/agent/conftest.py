"""Agent test fixtures: a real collector in its own process (helpers: tests/agent/support.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agent.support import Forkserver, LiveCollector
from tests.helpers import free_port


@pytest.fixture(scope="session")
def collector_db_template(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str]:
    """A migrated SQLite file with a site ``t1`` and an enroll secret for it, made once per session."""
    from collector.db import make_engine, session_scope
    from collector.services.enrollment import create_enroll_secret
    from collector.services.sites import create_site

    path = tmp_path_factory.mktemp("collector-template") / "wardwatch.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    try:
        with session_scope(engine) as session:
            create_site(session, code="t1", name="Phường Một")
            secret = create_enroll_secret(session, site_code="t1", label="tests")
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")  # every row in the file that is copied
    finally:
        engine.dispose()
    return path, secret


@pytest.fixture
def collector_db(collector_db_template: tuple[Path, str], tmp_path: Path) -> tuple[Path, str]:
    """This test's own copy of the seeded collector database (site ``t1``, an enroll secret)."""
    template, secret = collector_db_template
    path = tmp_path / "collector" / "wardwatch.db"
    path.parent.mkdir()
    shutil.copy(template, path)
    return path, secret


@pytest.fixture(scope="session")
def collector_forkserver() -> Iterator[Forkserver]:
    """One process per session that has imported the collector; each ``live_collector`` is a fork of it."""
    server = Forkserver()
    yield server
    server.close()


@pytest.fixture
def live_collector(
    collector_db: tuple[Path, str], tmp_path: Path, collector_forkserver: Forkserver
) -> Iterator[LiveCollector]:
    """A collector process of this test's own (forked from the session's forkserver) on its database."""
    path, secret = collector_db
    c = LiveCollector(
        db_path=path,
        data_dir=tmp_path / "collector" / "data",
        port=free_port(),
        secret=secret,
        log_path=tmp_path / "collector" / "server.log",
        forkserver=collector_forkserver,
    )
    c.start()
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs (needs root, else the test is skipped); unmounted afterwards."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (needs root): {done.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.fixture(autouse=True)
def _clean_agent_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests configure the agent explicitly; no WARDWATCH_AGENT_* from the caller's shell."""
    for key in list(os.environ):
        if key.startswith("WARDWATCH_AGENT_") or key == "WARDWATCH_ENROLL_SECRET":
            monkeypatch.delenv(key)
