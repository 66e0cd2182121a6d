"""Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from collector.db import make_engine
from collector.migrate import include_object, upgrade
from collector.models import metadata


def test_migrated_schema_matches_the_models(database_url):
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            opts = {"compare_type": False, "include_object": include_object(conn.dialect.name)}
            diff = compare_metadata(MigrationContext.configure(conn, opts=opts), metadata)
        assert diff == [], f"models and migrations disagree: {diff}"
    finally:
        engine.dispose()


def test_upgrade_twice_is_harmless(sqlite_url):
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    try:
        assert {"site", "device", "rawreport", "agent"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_sqlite_runs_with_wal_and_foreign_keys(sqlite_url):
    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    finally:
        engine.dispose()


RELEASE = Path(__file__).resolve().parents[1] / "fixtures" / "release"


def _row_counts(engine: Any) -> dict[str, int]:
    names = [t for t in inspect(engine).get_table_names() if t != "alembic_version"]
    with engine.connect() as conn:
        return {n: conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar_one() for n in names}


def _raw_reports(engine: Any) -> set[tuple[Any, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, report_id, collected_at, body_gz FROM rawreport")).all()
    return {(r[0], r[1], r[2], bytes(r[3])) for r in rows}


def _upgrade_keeps_every_row(url: str) -> None:
    engine = make_engine(url)
    try:
        before = _row_counts(engine)
        assert before["device"] and before["usersite"] and before["authsession"], "the fixture holds data"
        raw_before = _raw_reports(engine)
        assert raw_before, "the fixture holds raw reports"
        upgrade(url)
        after = _row_counts(engine)
        lost = {t: (n, after.get(t)) for t, n in before.items() if after.get(t) != n}
        assert lost == {}, f"rows lost by the upgrade (before, after): {lost}"
        # The raw reports (partitioned by month on PostgreSQL now) are the same rows, ids included.
        assert _raw_reports(engine) == raw_before
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                kind = conn.execute(
                    text("SELECT relkind FROM pg_class WHERE oid = 'rawreport'::regclass")
                ).scalar()
            assert kind == "p"
        with engine.connect() as conn:
            opts = {"compare_type": False, "include_object": include_object(conn.dialect.name)}
            diff = compare_metadata(MigrationContext.configure(conn, opts=opts), metadata)
        assert diff == [], f"models and migrations disagree after the upgrade: {diff}"
    finally:
        engine.dispose()


def test_upgrading_an_earlier_release_keeps_every_row_on_sqlite(tmp_path: Path) -> None:
    """Before: SQLite rebuilt the user table with foreign keys on, and the drop cascaded: every web
    session and every user's site scope was deleted (a scoped user became a city-wide one)."""
    db = tmp_path / "release.db"
    db.write_bytes(gzip.decompress((RELEASE / "release-3544626.sqlite.gz").read_bytes()))
    _upgrade_keeps_every_row(f"sqlite:///{db}")


def test_upgrading_an_earlier_release_keeps_every_row_on_postgresql() -> None:
    base = os.environ.get("WARDWATCH_TEST_DATABASE_URL")
    if not base:
        pytest.skip("WARDWATCH_TEST_DATABASE_URL is not set: no PostgreSQL server to test against")
    if not shutil.which("psql"):
        pytest.skip("psql (postgresql-client) is not installed: it loads the release's dump")
    url = make_url(base)
    name = f"ww_release_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        target = url.set(database=name)
        libpq = target.set(drivername="postgresql").render_as_string(hide_password=False)
        sql = gzip.decompress((RELEASE / "release-3544626.pg.sql.gz").read_bytes())
        loaded = subprocess.run(
            ["psql", "-q", "-v", "ON_ERROR_STOP=1", libpq], input=sql, capture_output=True, check=False
        )
        assert loaded.returncode == 0, loaded.stderr.decode()
        _upgrade_keeps_every_row(target.render_as_string(hide_password=False))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_collectors_started_together_on_an_empty_postgresql_database_migrate_it_once() -> None:
    """Several `serve` processes behind a load balancer each migrate at start. Before: run at the same
    moment, they created the same tables together and the others failed (duplicate objects)."""
    import sys

    base = os.environ.get("WARDWATCH_TEST_DATABASE_URL")
    if not base:
        pytest.skip("WARDWATCH_TEST_DATABASE_URL is not set: no PostgreSQL server to test against")
    url = make_url(base)
    name = f"ww_together_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        target = url.set(database=name).render_as_string(hide_password=False)
        code = "import sys; from collector.migrate import upgrade; upgrade(sys.argv[1])"
        procs = [
            subprocess.Popen([sys.executable, "-c", code, target], stderr=subprocess.PIPE) for _ in range(3)
        ]
        errors = [p.communicate(timeout=300)[1].decode()[-2000:] for p in procs]
        failures = [e for p, e in zip(procs, errors, strict=True) if p.returncode != 0]
        assert failures == []
        engine = create_engine(target)
        try:
            with engine.connect() as conn:
                diff = compare_metadata(MigrationContext.configure(conn), metadata)
        finally:
            engine.dispose()
        assert diff == []
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# Revision ids deployed databases hold in ``alembic_version``: a file may move, its id never changes.
DEPLOYED_REVISIONS = frozenset(
    {
        "0001_core",
        "0010_inspections",
        "assets_0001",
        "certificates_0001",
        "findings_0001",
        "lan_0001",
        "netdevices_0001",
        "i13_identity_0001",
        "i13b_security_0001",
        "i14b_quarantine_0001",
        "i15a_jobs_0001",
        "i15b_sched_0001",
        "i15c_storage_0001",
        "i15d_read_0001",
        "i15e_overview_0001",
        "i16_security_0001",
        "i17_console_0001",
        "i17b_history_0001",
        "i17b_notify_0001",
        "i18a_documents_0001",
        "i18b_evidence_0001",
        "i20_0001",
    }
)
FILE_NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*_[0-9]{4}\.py$")


def test_every_migration_file_is_named_after_its_branch_and_place() -> None:
    """``<branch label>_<NNNN>.py`` (docs/architecture.md, "Names"), and no deployed revision id lost."""
    from alembic.script import ScriptDirectory

    from collector.migrate import alembic_config, branch_position, migration_file_name

    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    versions = Path(scripts.versions)
    files = sorted(p.name for p in versions.glob("*.py") if p.name != "__init__.py")
    wrong = [name for name in files if not FILE_NAME.match(name)]
    assert not wrong, f"migration files not named <branch label>_<NNNN>.py: {wrong}"
    revisions = list(scripts.walk_revisions())
    assert len(revisions) == len(files)  # every file is a revision (nothing Alembic skips)
    misnamed = []
    for script in revisions:
        expected = migration_file_name(*branch_position(scripts, script.revision))
        if Path(script.path).name != expected:
            misnamed.append(f"{Path(script.path).name} (revision {script.revision}) should be {expected}")
    assert not misnamed, "\n".join(misnamed)
    assert {s.revision for s in revisions} >= DEPLOYED_REVISIONS, "a deployed revision id changed"
