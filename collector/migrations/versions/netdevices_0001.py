"""netdevices tables: configuration versions and the managed network device list

Revision ID: netdevices_0001
Revises: 0001_core
Create Date: 2026-11-27 00:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import collector.models.types

revision = "netdevices_0001"
down_revision = "0001_core"
branch_labels = ("netdevices",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "netdevice_config",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", collector.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", collector.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("report_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("changed", sa.Boolean(), nullable=False),
        sa.Column("previous_id", sa.Integer(), nullable=True),
        sa.Column("os_version", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.ForeignKeyConstraint(["device_id"], ["device.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["previous_id"], ["netdevice_config.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("netdevice_config", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_netdevice_config_device_id"), ["device_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_netdevice_config_hash"), ["hash"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_netdevice_config_first_seen_at"), ["first_seen_at"], unique=False
        )

    op.create_table(
        "managed_netdevice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("host", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("platform", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("password_enc", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", collector.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", collector.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=150), nullable=True),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("site_id", "name"),
    )
    with op.batch_alter_table("managed_netdevice", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_managed_netdevice_site_id"), ["site_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("managed_netdevice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_managed_netdevice_site_id"))
    op.drop_table("managed_netdevice")
    with op.batch_alter_table("netdevice_config", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_netdevice_config_first_seen_at"))
        batch_op.drop_index(batch_op.f("ix_netdevice_config_hash"))
        batch_op.drop_index(batch_op.f("ix_netdevice_config_device_id"))
    op.drop_table("netdevice_config")
