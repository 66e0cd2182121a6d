"""Alembic, driven from code: ``wardwatch db upgrade`` and the tests call ``upgrade``.

Each domain keeps its own branch of migrations rooted at the core revision (``branch_labels``), so
capabilities add tables without racing for one linear history; ``upgrade`` goes to every head.

A migration file is named ``<branch label>_<NNNN>.py``: its domain's branch label and its place in that
branch (``0001`` for the revision that starts the branch), e.g. ``core_0001.py``, ``lan_0001.py``,
``i20_vulns_0001.py`` (``migration_file_name``; ``tests/collector/test_migrations.py`` holds every file
to it). Revision ids are stored in deployed databases (``alembic_version``) and never change, so an older
revision's id may differ from its file name (``0001_core`` is in ``core_0001.py``); a new revision takes
its file name as id (``revision`` below does both).
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from collector.db import make_engine

# The advisory lock key that serialises migrations on PostgreSQL (any fixed 64-bit number).
MIGRATION_LOCK = 0x77617264_6D696772  # "wardmigr"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("collector") / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, *, engine: Engine | None = None) -> None:
    cfg = alembic_config(url)
    own = engine is None
    engine = engine or make_engine(url)
    try:
        with engine.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            if sqlite:
                # SQLite changes most columns by copying the table and dropping the old one; with
                # foreign keys on, that drop cascades and deletes the rows that point at it (sessions and
                # site scopes of users, once). Off during the migration, checked after it.
                conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
                conn.commit()
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    # Several collector processes started together (behind a load balancer) each
                    # migrate first: one at a time, the others then find nothing left to do.
                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "heads")
                if sqlite:
                    _check_foreign_keys(conn)
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
    finally:
        if own:
            engine.dispose()


def _check_foreign_keys(conn: Connection) -> None:
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        tables = sorted({row[0] for row in broken})
        raise RuntimeError(
            f"the migration left {len(broken)} rows pointing at missing rows (tables: {', '.join(tables)}); "
            "nothing was changed"
        )


def include_object(dialect: str) -> Any:
    """Alembic's filter: an index declared for PostgreSQL only (``info["postgresql_only"]``, e.g. a
    trigram index) is not expected in another database's schema."""

    def include(obj: Any, name: Any, type_: str, reflected: bool, compare_to: Any) -> bool:
        return not (type_ == "index" and dialect != "postgresql" and obj.info.get("postgresql_only"))

    return include


def branch_position(scripts: ScriptDirectory, rev: str) -> tuple[str, int]:
    """The branch label of a revision's domain and its place in that branch (1: the revision that
    declares the label). A revision without its own label continues its one parent's branch."""
    script = scripts.get_revision(rev)
    place = 1
    while True:
        assert script is not None
        own = getattr(script.module, "branch_labels", None)
        if own:
            labels = (own,) if isinstance(own, str) else tuple(own)
            return labels[0], place
        parent = script.down_revision
        if not isinstance(parent, str):
            raise ValueError(f"{rev}: a merge or a root without a branch label has no single branch")
        script = scripts.get_revision(parent)
        place += 1


def migration_file_name(label: str, place: int) -> str:
    """``<branch label>_<NNNN>.py``: the one pattern of migration file names."""
    return f"{label}_{place:04d}.py"


def revision(url: str, message: str, *, head: str, branch_label: str | None = None) -> None:
    """Autogenerate a migration, named ``<branch label>_<NNNN>.py`` with that name as its revision id.

    A new domain: ``python -m collector.migrate 'msg' 0001_core DOMAIN``; later ``'msg' DOMAIN@head``.
    """
    cfg = alembic_config(url)
    if branch_label is not None:
        label, place = branch_label, 1
    else:
        label, place = branch_position(ScriptDirectory.from_config(cfg), head)
        place += 1
    cfg.set_main_option("file_template", "%%(rev)s")
    # A new branch starts from a revision that already has children, which Alembic calls a splice.
    command.revision(
        cfg,
        message=message,
        autogenerate=True,
        head=head,
        rev_id=migration_file_name(label, place).removesuffix(".py"),
        branch_label=branch_label,
        splice=branch_label is not None,
    )


if __name__ == "__main__":
    import sys
    import tempfile

    msg, head = sys.argv[1], sys.argv[2]
    label = sys.argv[3] if len(sys.argv) > 3 else None
    with tempfile.TemporaryDirectory() as tmp:
        scratch = f"sqlite:///{tmp}/scratch.db"
        upgrade(scratch)
        revision(scratch, msg, head=head, branch_label=label)
