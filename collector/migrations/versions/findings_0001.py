"""findings tables

Revision ID: findings_0001
Revises: 0001_core
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import collector.models.types

revision = "findings_0001"
down_revision = "0001_core"
branch_labels = ("findings",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "finding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("check_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("target", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("known", sa.Boolean(), nullable=False),
        sa.Column("severity", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("evidence", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("observed", sa.JSON(), nullable=True),
        sa.Column("first_seen_at", collector.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", collector.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("opened_at", collector.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", collector.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", collector.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reopen_count", sa.Integer(), nullable=False),
        sa.Column("accepted_by", sqlmodel.sql.sqltypes.AutoString(length=150), nullable=True),
        sa.Column("accepted_at", collector.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("accepted_until", collector.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("accepted_reason", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.ForeignKeyConstraint(["device_id"], ["device.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("device_id", "check_id", "target", name="uq_finding_identity"),
    )
    op.create_index(op.f("ix_finding_check_id"), "finding", ["check_id"], unique=False)
    op.create_index(op.f("ix_finding_device_id"), "finding", ["device_id"], unique=False)
    op.create_index(op.f("ix_finding_severity"), "finding", ["severity"], unique=False)
    op.create_index(op.f("ix_finding_site_id"), "finding", ["site_id"], unique=False)
    op.create_index("ix_finding_site_status", "finding", ["site_id", "status"], unique=False)
    op.create_index(op.f("ix_finding_status"), "finding", ["status"], unique=False)
    op.create_table(
        "finding_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("finding_id", sa.Integer(), nullable=False),
        sa.Column("at", collector.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("severity", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("evidence", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=150), nullable=True),
        sa.Column("report_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.ForeignKeyConstraint(["finding_id"], ["finding.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_finding_event_finding_id"), "finding_event", ["finding_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_finding_event_finding_id"), table_name="finding_event")
    op.drop_table("finding_event")
    op.drop_index(op.f("ix_finding_status"), table_name="finding")
    op.drop_index("ix_finding_site_status", table_name="finding")
    op.drop_index(op.f("ix_finding_site_id"), table_name="finding")
    op.drop_index(op.f("ix_finding_severity"), table_name="finding")
    op.drop_index(op.f("ix_finding_device_id"), table_name="finding")
    op.drop_index(op.f("ix_finding_check_id"), table_name="finding")
    op.drop_table("finding")
