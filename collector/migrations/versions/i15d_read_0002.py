"""read side: each commune's ranking and the must-replace rows as indexes (the plan's first phases)

``ix_device_score_current_site_rank`` (site_id, eligible, neg_ratio, neg_score, cost, device_id): the
plan's minimum phase walks each commune's best candidates on it and stops after the commune's quota
(a LATERAL walk per commune on PostgreSQL) instead of numbering every candidate with a window. Its
EXPLAIN is in docs/architecture.md.

``ix_device_score_current_must``: a partial index of the rows some must-replace rule may take, in rank
order (the plan's must-replace phase walked every eligible row to find them).

Revision ID: i15d_read_0002
Revises: i15d_read_0001
Create Date: 2026-12-06 00:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "i15d_read_0002"
down_revision = "i15d_read_0001"
branch_labels = None
depends_on = None

# The same text as collector.models.ranking.MUST_ANY_SQL (a migration keeps its own copy).
MUST_ANY_SQL = (
    "eligible IS true AND (status = 'to_replace' OR storage_failed IS true OR category = 'replace_now')"
)


def upgrade() -> None:
    op.create_index(
        "ix_device_score_current_site_rank",
        "device_score_current",
        ["site_id", "eligible", "neg_ratio", "neg_score", "cost", "device_id"],
    )
    op.create_index(
        "ix_device_score_current_must",
        "device_score_current",
        ["neg_ratio", "neg_score", "cost", "device_id"],
        postgresql_where=sa.text(MUST_ANY_SQL),
        sqlite_where=sa.text(MUST_ANY_SQL),
    )


def downgrade() -> None:
    op.drop_index("ix_device_score_current_must", table_name="device_score_current")
    op.drop_index("ix_device_score_current_site_rank", table_name="device_score_current")
