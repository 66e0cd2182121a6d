"""i13b security: throttle, audit sites, one-time passwords, per-site asset tags

Revision ID: i13b_security_0001
Revises: 0001_core
Depends on: assets_0001 (the asset tag index changes)
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import collector.models.types

revision = "i13b_security_0001"
down_revision = "0001_core"
branch_labels = ("i13b_security",)
depends_on = "assets_0001"


def upgrade() -> None:
    op.create_table(
        "loginthrottle",
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=150), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failed_at", collector.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("next_allowed_at", collector.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("username", "address"),
    )
    op.create_table(
        "auditeventsite",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["auditevent.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("event_id", "site_id"),
    )
    with op.batch_alter_table("auditeventsite", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auditeventsite_site_id"), ["site_id"], unique=False)

    with op.batch_alter_table("asset", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_asset_asset_tag"))
        batch_op.create_index(batch_op.f("ix_asset_asset_tag"), ["asset_tag"], unique=False)

    with op.batch_alter_table("auditevent", schema=None) as batch_op:
        batch_op.add_column(sa.Column("count", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("bucket", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch_op.create_index(batch_op.f("ix_auditevent_address"), ["address"], unique=False)
        batch_op.create_index(batch_op.f("ix_auditevent_bucket"), ["bucket"], unique=True)

    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("must_change_password", sa.Boolean(), server_default="0", nullable=False)
        )
        batch_op.drop_column("failed_logins")
        batch_op.drop_column("locked_until")


def downgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("locked_until", collector.models.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("failed_logins", sa.Integer(), server_default="0", nullable=False))
        batch_op.drop_column("must_change_password")

    with op.batch_alter_table("auditevent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auditevent_bucket"))
        batch_op.drop_index(batch_op.f("ix_auditevent_address"))
        batch_op.drop_column("bucket")
        batch_op.drop_column("count")

    with op.batch_alter_table("asset", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_asset_asset_tag"))
        batch_op.create_index(batch_op.f("ix_asset_asset_tag"), ["asset_tag"], unique=True)

    with op.batch_alter_table("auditeventsite", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auditeventsite_site_id"))

    op.drop_table("auditeventsite")
    op.drop_table("loginthrottle")
