"""read side: each commune's ranking as one index (the plan's commune minimums)

``ix_device_score_current_site_rank`` (site_id, eligible, neg_ratio, neg_score, cost, device_id): the
plan's minimum phase walks each commune's best candidates on it and stops after the commune's quota
(a LATERAL walk per commune on PostgreSQL) instead of numbering every candidate with a window. Its
EXPLAIN is in docs/architecture.md.

Revision ID: i15d_read_0002
Revises: i15d_read_0001
Create Date: 2026-12-06 00:30:00
"""

from __future__ import annotations

from alembic import op

revision = "i15d_read_0002"
down_revision = "i15d_read_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_device_score_current_site_rank",
        "device_score_current",
        ["site_id", "eligible", "neg_ratio", "neg_score", "cost", "device_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_device_score_current_site_rank", table_name="device_score_current")
