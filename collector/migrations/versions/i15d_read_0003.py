"""read side: the ranking's version, raised in the commit of every write to the ranking or the sites

``ranking_version`` holds one row (id 1). On PostgreSQL, deferred constraint triggers on
``device_score_current`` and ``site`` raise its ``n`` once per writing transaction, at commit: the plan
keys its cache of totals on it (collector.services.planning_pages), so a cached total is never served
after a write it does not include. SQLite gets the row only (it computes the totals every time).

Revision ID: i15d_read_0003
Revises: i15d_read_0002
Create Date: 2026-12-06 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "i15d_read_0003"
down_revision = "i15d_read_0002"
branch_labels = None
depends_on = None

# Once per transaction: the first row event at commit raises the version, the others see the flag
# (a transaction-local setting holding the transaction's id) and return.
BUMP = """
CREATE FUNCTION ww_ranking_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('wardwatch.ranking_bumped', true) IS DISTINCT FROM txid_current()::text THEN
        UPDATE ranking_version SET n = n + 1 WHERE id = 1;
        PERFORM set_config('wardwatch.ranking_bumped', txid_current()::text, true);
    END IF;
    RETURN NULL;
END $$
"""
TABLES = ("device_score_current", "site")


def upgrade() -> None:
    op.create_table(
        "ranking_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute("INSERT INTO ranking_version (id, n) VALUES (1, 0)")
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(BUMP)
    for table in TABLES:
        op.execute(
            f"CREATE CONSTRAINT TRIGGER tr_{table}_ranking_version "
            f"AFTER INSERT OR UPDATE OR DELETE ON {table} DEFERRABLE INITIALLY DEFERRED "
            "FOR EACH ROW EXECUTE FUNCTION ww_ranking_version_bump()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER tr_{table}_ranking_version ON {table}")
        op.execute("DROP FUNCTION ww_ranking_version_bump()")
    op.drop_table("ranking_version")
