"""raw reports partitioned by month on PostgreSQL; dedup on (report_id, collected_at)

On PostgreSQL ``rawreport`` becomes a table partitioned by RANGE of ``collected_at``, one partition per
UTC month in the ``wardwatch_partitions`` schema (see ``collector.services.partitions``): the old table
is renamed, the partitioned one created with the primary key (id, collected_at) (a partitioned table's
keys must hold its partition key), the partitions of every month that holds a row and of the next
three months created, every row copied (ids and the id sequence kept), and the old table dropped.
Global uniqueness of ``report_id`` alone cannot be an index of a partitioned table; a report resent by
its agent carries the same ``collected_at``, so (report_id, collected_at) still refuses the duplicate.

SQLite keeps one table: the unique index moves to (report_id, collected_at) too and an index on
``collected_at`` serves the retention's range scans. On both, the indexes on ``agent_id`` and
``received_at`` go: no query selects by them, and each cost ~1 KB per device per day.

Revision ID: i15c_storage_0001
Revises: 0001_core
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op

revision = "i15c_storage_0001"
down_revision = "0001_core"
branch_labels = ("i15c_storage",)
depends_on = None

SCHEMA = "wardwatch_partitions"
AHEAD = 3


def _next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        _partition_postgresql(bind)
        return
    with op.batch_alter_table("rawreport") as batch_op:
        for name in ("report_id", "agent_id", "received_at"):
            batch_op.drop_index(f"ix_rawreport_{name}")
    op.create_index(
        "uq_rawreport_report_id_collected_at", "rawreport", ["report_id", "collected_at"], unique=True
    )
    op.create_index("ix_rawreport_collected_at", "rawreport", ["collected_at"])


def _partition_postgresql(bind: sa.engine.Connection) -> None:
    run = op.execute
    kind = bind.execute(sa.text("SELECT relkind FROM pg_class WHERE oid = to_regclass('rawreport')")).scalar()
    if kind == "p":
        return
    # The old table's index names are global in the schema: free them for the new table.
    run("ALTER TABLE rawreport RENAME TO rawreport_unpartitioned")
    run("ALTER INDEX rawreport_pkey RENAME TO rawreport_unpartitioned_pkey")
    for name in ("agent_id", "device_id", "received_at", "report_id"):
        run(f"DROP INDEX IF EXISTS ix_rawreport_{name}")
    run(
        """
        CREATE TABLE rawreport (
            id INTEGER NOT NULL DEFAULT nextval('rawreport_id_seq'::regclass),
            report_id VARCHAR(36) NOT NULL,
            agent_id VARCHAR NOT NULL REFERENCES agent (id) ON DELETE CASCADE,
            device_id INTEGER NOT NULL REFERENCES device (id) ON DELETE CASCADE,
            kind VARCHAR(16) NOT NULL,
            schema_version INTEGER NOT NULL,
            collected_at TIMESTAMP WITH TIME ZONE NOT NULL,
            received_at TIMESTAMP WITH TIME ZONE NOT NULL,
            size_bytes INTEGER NOT NULL,
            body_gz BYTEA NOT NULL,
            CONSTRAINT rawreport_pkey PRIMARY KEY (id, collected_at)
        ) PARTITION BY RANGE (collected_at)
        """
    )
    run("CREATE UNIQUE INDEX uq_rawreport_report_id_collected_at ON rawreport (report_id, collected_at)")
    run("CREATE INDEX ix_rawreport_collected_at ON rawreport (collected_at)")
    run("CREATE INDEX ix_rawreport_device_id ON rawreport (device_id)")
    run(f'CREATE SCHEMA IF NOT EXISTS "{SCHEMA}"')

    oldest = bind.execute(sa.text("SELECT min(collected_at) FROM rawreport_unpartitioned")).scalar()
    now = datetime.now(UTC)
    month = date(oldest.year, oldest.month, 1) if oldest is not None else date(now.year, now.month, 1)
    oldest_month = month
    last = date(now.year, now.month, 1)
    for _ in range(AHEAD):
        last = _next_month(last)
    newest = bind.execute(sa.text("SELECT max(collected_at) FROM rawreport_unpartitioned")).scalar()
    if newest is not None:
        last = max(last, date(newest.year, newest.month, 1))
    # Months between the oldest row and today that hold no row still get their (empty) partition: a
    # few small tables, and a late report of such a month needs no DDL.
    month = oldest_month
    while month <= last:
        name = f"rawreport_p{month.year:04d}_{month.month:02d}"
        lo, hi = month.isoformat(), _next_month(month).isoformat()
        run(
            f'CREATE TABLE "{SCHEMA}"."{name}" PARTITION OF rawreport '
            f"FOR VALUES FROM ('{lo} 00:00:00+00') TO ('{hi} 00:00:00+00')"
        )
        month = _next_month(month)
    run(
        "INSERT INTO rawreport (id, report_id, agent_id, device_id, kind, schema_version, collected_at, "
        "received_at, size_bytes, body_gz) SELECT id, report_id, agent_id, device_id, kind, schema_version, "
        "collected_at, received_at, size_bytes, body_gz FROM rawreport_unpartitioned"
    )
    run("ALTER SEQUENCE rawreport_id_seq OWNED BY rawreport.id")
    run("DROP TABLE rawreport_unpartitioned")


def downgrade() -> None:
    raise NotImplementedError("the partitioned raw reports are not converted back")
