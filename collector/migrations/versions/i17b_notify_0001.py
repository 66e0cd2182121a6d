"""i17b notifications tables: subscriptions, the event outbox, deliveries and attempts

Revision ID: i17b_notify_0001
Revises: 0001_core
Create Date: 2026-12-04 23:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import collector.models.types

revision = "i17b_notify_0001"
down_revision = "0001_core"
branch_labels = ("i17b_notify",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notify_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("at", collector.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("dedupe_key", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("dispatched_at", collector.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("claim_token", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("claimed_until", collector.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
    )
    with op.batch_alter_table("notify_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notify_event_dispatched_at"), ["dispatched_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_notify_event_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_notify_event_site_id"), ["site_id"], unique=False)

    op.create_table(
        "notify_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("event", sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("target", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("digest", sa.Boolean(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=True),
        sa.Column("secret_enc", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", collector.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=150), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("notify_subscription", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notify_subscription_event"), ["event"], unique=False)
        batch_op.create_index(batch_op.f("ix_notify_subscription_site_id"), ["site_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notify_subscription_user_id"), ["user_id"], unique=False)

    op.create_table(
        "notify_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", collector.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", collector.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", collector.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("claim_token", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("claimed_until", collector.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["event_id"], ["notify_event.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["subscription_id"], ["notify_subscription.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id", "subscription_id", name="uq_notify_delivery"),
    )
    with op.batch_alter_table("notify_delivery", schema=None) as batch_op:
        batch_op.create_index("ix_notify_delivery_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_notify_delivery_event_id"), ["event_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_notify_delivery_subscription_id"), ["subscription_id"], unique=False
        )

    op.create_table(
        "notify_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("at", collector.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["delivery_id"], ["notify_delivery.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("notify_attempt", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notify_attempt_delivery_id"), ["delivery_id"], unique=False)


def downgrade() -> None:
    for table in ("notify_attempt", "notify_delivery", "notify_subscription", "notify_event"):
        op.drop_table(table)
