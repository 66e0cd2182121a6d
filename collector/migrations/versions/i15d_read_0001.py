"""read side at national size: the stored replacement ranking, indexes of the hot lists

``device_score_current`` starts empty: the first plan (or ``refresh_device_scores``) fills the rows of
devices that have none. Each index is justified with its EXPLAIN in docs/architecture.md.

Revision ID: i15d_read_0001
Revises: 0001_core
Create Date: 2026-12-05 03:20:13.297875
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "i15d_read_0001"
down_revision = "0001_core"
branch_labels = ("i15d_read",)
# The indexes below are on the certificates', findings' and assets' tables: their branches run first.
depends_on = ("certificates_0001", "findings_0001", "assets_0001")

# The same text as collector.models.ranking.SEVERITY_RANK_SQL (a migration keeps its own copy).
SEVERITY_RANK_SQL = (
    "(\nCASE\n WHEN severity = 'critical' THEN 0\n WHEN severity = 'high' THEN 1\n"
    " WHEN severity = 'medium' THEN 2\n WHEN severity = 'low' THEN 3\n WHEN severity = 'info' THEN 4\n"
    " ELSE 5\nEND)"
)
# Substring search (ILIKE '%...%') on PostgreSQL: trigram GIN indexes (collector/models/ranking.py).
TRGM = (
    ("ix_device_hostname_trgm", "device", "hostname"),
    ("ix_device_serial_trgm", "device", "serial"),
    ("ix_device_certificate_subject_trgm", "device_certificate", "subject"),
    ("ix_device_certificate_subject_cn_trgm", "device_certificate", "subject_cn"),
    ("ix_asset_asset_tag_trgm", "asset", "asset_tag"),
)


def upgrade() -> None:
    op.create_table(
        "device_score_current",
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("device_class", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("virtual", sa.Boolean(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("storage_failed", sa.Boolean(), nullable=False),
        sa.Column("cost", sa.Integer(), nullable=True),
        sa.Column("eligible", sa.Boolean(), nullable=False),
        sa.Column("neg_ratio", sa.Float(), nullable=False),
        sa.Column("neg_score", sa.Integer(), nullable=False),
        sa.Column("config_digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("computed_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["device.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("device_id"),
    )
    with op.batch_alter_table("device_score_current", schema=None) as batch_op:
        batch_op.create_index("ix_device_score_current_class_cost", ["device_class", "cost"], unique=False)
        batch_op.create_index("ix_device_score_current_fresh", ["computed_on", "config_digest"], unique=False)
        batch_op.create_index(
            "ix_device_score_current_rank",
            ["eligible", "neg_ratio", "neg_score", "cost", "device_id"],
            unique=False,
        )
        batch_op.create_index("ix_device_score_current_site_category", ["site_id", "category"], unique=False)

    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.create_index("ix_device_site_hostname_id", ["site_id", "hostname", "id"], unique=False)
        batch_op.create_index("ix_device_site_last_report", ["site_id", "last_report_at"], unique=False)
        batch_op.create_index("ix_device_kind_hostname_id", ["kind", "hostname", "id"], unique=False)

    with op.batch_alter_table("device_certificate", schema=None) as batch_op:
        batch_op.create_index("ix_device_certificate_not_after_id", ["not_after", "id"], unique=False)
        batch_op.create_index("ix_device_certificate_site_not_after", ["site_id", "not_after"], unique=False)

    op.create_index(
        "ix_finding_severity_rank", "finding", [sa.text(SEVERITY_RANK_SQL), "first_seen_at", "id"]
    )
    op.create_index(
        "ix_finding_site_severity_rank",
        "finding",
        ["site_id", sa.text(SEVERITY_RANK_SQL), "first_seen_at", "id"],
    )
    op.create_index(
        "ix_finding_severity_severity_rank",
        "finding",
        ["severity", sa.text(SEVERITY_RANK_SQL), "first_seen_at", "id"],
    )
    op.create_index("ix_finding_first_seen_id", "finding", ["first_seen_at", "id"])
    if op.get_bind().dialect.name == "postgresql":
        # A trusted extension since PostgreSQL 13: the database's owner may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, table, column in TRGM:
            op.create_index(
                name, table, [column], postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"}
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, table, _column in TRGM:
            op.drop_index(name, table_name=table)
    op.drop_index("ix_finding_first_seen_id", table_name="finding")
    op.drop_index("ix_finding_severity_severity_rank", table_name="finding")
    op.drop_index("ix_finding_site_severity_rank", table_name="finding")
    op.drop_index("ix_finding_severity_rank", table_name="finding")
    with op.batch_alter_table("device_certificate", schema=None) as batch_op:
        batch_op.drop_index("ix_device_certificate_site_not_after")
        batch_op.drop_index("ix_device_certificate_not_after_id")
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.drop_index("ix_device_kind_hostname_id")
        batch_op.drop_index("ix_device_site_last_report")
        batch_op.drop_index("ix_device_site_hostname_id")
    op.drop_table("device_score_current")
