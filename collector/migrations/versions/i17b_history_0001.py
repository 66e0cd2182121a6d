"""i17b history tables: compact change events per device

Revision ID: i17b_history_0001
Revises: 0001_core
Create Date: 2026-12-04 23:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import collector.models.types

revision = "i17b_history_0001"
down_revision = "0001_core"
branch_labels = ("i17b_history",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "change_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("at", collector.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("report_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("before", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("after", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("suspicious", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["device_id"], ["device.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("change_event", schema=None) as batch_op:
        batch_op.create_index("ix_change_event_device_at", ["device_id", "at"], unique=False)
        batch_op.create_index("ix_change_event_site_at", ["site_id", "at"], unique=False)


def downgrade() -> None:
    op.drop_table("change_event")
