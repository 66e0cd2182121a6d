"""scheduled_run: when each periodic job last ran, shared by every collector process

Revision ID: i15b_sched_0001
Revises: 0001_core
Create Date: 2026-12-05 03:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import collector.models.types

revision = "i15b_sched_0001"
down_revision = "0001_core"
branch_labels = ("i15b_scheduler",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scheduled_run",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("last_started_at", collector.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_finished_at", collector.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("last_runner", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("scheduled_run")
