"""A scratch database for a bench run: a new PostgreSQL database beside the one given (dropped at the
end), or a SQLite file in the run's temporary folder."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def scratch_database(database_url: str | None, tmp: str, prefix: str) -> Iterator[str]:
    """The URL of an empty database for this run (not migrated)."""
    if not database_url:
        yield f"sqlite:///{tmp}/bench.db"
        return
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from collector.db import make_engine

    admin = make_engine(database_url, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
