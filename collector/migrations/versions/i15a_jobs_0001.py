"""i15a background job queue

Revision ID: i15a_jobs_0001
Revises: 0001_core
Create Date: 2026-12-05 03:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import collector.models.types

revision = "i15a_jobs_0001"
down_revision = "0001_core"
branch_labels = ("i15a_jobs",)
depends_on = None

PENDING = sa.text("claimed_at IS NULL AND failed_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("dedupe_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("run_after", collector.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("claimed_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("claimed_at", collector.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("failed_at", collector.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", collector.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.create_index("ix_job_ready", ["run_after", "id"], unique=False)
        batch_op.create_index(
            "ux_job_pending_dedupe",
            ["dedupe_key"],
            unique=True,
            sqlite_where=PENDING,
            postgresql_where=PENDING,
        )


def downgrade() -> None:
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_index("ux_job_pending_dedupe", sqlite_where=PENDING, postgresql_where=PENDING)
        batch_op.drop_index("ix_job_ready")
    op.drop_table("job")
