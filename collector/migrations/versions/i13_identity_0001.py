"""i13 identity: identity conflicts and move requests, agent key rotation, enroll secret max uses

Revision ID: i13_identity_0001
Revises: 0001_core
Create Date: 2026-12-04 23:19:34.005014
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import collector.models.types

revision = "i13_identity_0001"
down_revision = "0001_core"
branch_labels = ("i13_identity",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity_conflict",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("owner_agent_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("device_site_id", sa.Integer(), nullable=False),
        sa.Column("claimant_agent_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("claimant_site_id", sa.Integer(), nullable=False),
        sa.Column("claimant_device_id", sa.Integer(), nullable=True),
        sa.Column("hostname", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("machine_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("serial", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("mac", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("detected_at", collector.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", collector.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sqlmodel.sql.sqltypes.AutoString(length=150), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.ForeignKeyConstraint(["claimant_agent_id"], ["agent.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["claimant_device_id"], ["device.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["claimant_site_id"], ["site.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["device_id"], ["device.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["device_site_id"], ["site.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["owner_agent_id"], ["agent.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("identity_conflict", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_identity_conflict_claimant_agent_id"), ["claimant_agent_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_identity_conflict_claimant_device_id"), ["claimant_device_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_identity_conflict_claimant_site_id"), ["claimant_site_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_identity_conflict_device_id"), ["device_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_identity_conflict_device_site_id"), ["device_site_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_identity_conflict_status"), ["status"], unique=False)

    with op.batch_alter_table("agent", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("pending_key_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column("key_rotated_at", collector.models.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_agent_pending_key_hash"), ["pending_key_hash"], unique=True)

    with op.batch_alter_table("enrollsecret", schema=None) as batch_op:
        batch_op.add_column(sa.Column("max_uses", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("enrollsecret", schema=None) as batch_op:
        batch_op.drop_column("max_uses")

    with op.batch_alter_table("agent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_pending_key_hash"))
        batch_op.drop_column("key_rotated_at")
        batch_op.drop_column("pending_key_hash")

    with op.batch_alter_table("identity_conflict", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_conflict_status"))
        batch_op.drop_index(batch_op.f("ix_identity_conflict_device_site_id"))
        batch_op.drop_index(batch_op.f("ix_identity_conflict_device_id"))
        batch_op.drop_index(batch_op.f("ix_identity_conflict_claimant_site_id"))
        batch_op.drop_index(batch_op.f("ix_identity_conflict_claimant_device_id"))
        batch_op.drop_index(batch_op.f("ix_identity_conflict_claimant_agent_id"))

    op.drop_table("identity_conflict")
