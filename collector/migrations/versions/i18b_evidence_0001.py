"""Structured evidence: the message id and parameters beside the English evidence text

Revision ID: i18b_evidence_0001
Revises: findings_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "i18b_evidence_0001"
down_revision = "findings_0001"
branch_labels = ("i18b_evidence",)
depends_on = None


def upgrade() -> None:
    # Nullable: results stored before messages keep their English text, read through the compatibility map.
    for table in ("deviceresult", "finding"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("evidence_message", sa.JSON(), nullable=True))


def downgrade() -> None:
    for table in ("finding", "deviceresult"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("evidence_message")
