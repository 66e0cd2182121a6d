"""i16 security: client certificates issued by the agent CA

Revision ID: i16_security_0001
Revises: 0001_core
Create Date: 2026-12-04 23:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import collector.models.types

revision = "i16_security_0001"
down_revision = "0001_core"
branch_labels = ("i16_security",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_certificate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("serial", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("fingerprint", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("issued_at", collector.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("not_after", collector.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", collector.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.ForeignKeyConstraint(["agent_id"], ["agent.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("serial"),
    )
    with op.batch_alter_table("agent_certificate", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agent_certificate_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_agent_certificate_fingerprint"), ["fingerprint"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("agent_certificate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_certificate_fingerprint"))
        batch_op.drop_index(batch_op.f("ix_agent_certificate_agent_id"))
    op.drop_table("agent_certificate")
