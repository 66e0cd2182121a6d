"""read side: the ranking rows each version changed, for plan totals advanced instead of recomputed

``ranking_change``: per version of ``ranking_version``, the ranking rows (``device_score_current``) its
commit wrote, each with the row as it was before that write (NULL columns: no row before, an insert).
Filled on PostgreSQL by the same deferred constraint triggers that raise the version, in the same
commit: the first event of a commit raises ``n`` and notes it, every event logs its row. A commit that
writes more than ``CAP`` rows, writes a site, or changes a row's ``device_id`` logs one row with
``recompute`` true instead. A new device raises the version too (a trigger on ``device`` inserts: the
plan's check that every device has a ranking row is kept per version) and logs one row with no
``device_id`` (nothing for the plan's totals). ``prev`` is the version row's ``xmin`` before the
raise: a reader holding totals of version ``n`` at ``xmin`` x applies the changes of ``n + 1`` only if
their ``prev`` is x (a restored or emptied database starts another chain). Versions more than 64
behind are deleted by the commit that reaches each multiple of 64. SQLite gets the table only (it
computes the totals every time).

Revision ID: i15d_read_0004
Revises: i15d_read_0003
Create Date: 2026-12-06 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "i15d_read_0004"
down_revision = "i15d_read_0003"
branch_labels = None
depends_on = None

CAP = 1000  # ranking rows logged per commit; past it, one "recompute" row

BUMP = f"""
CREATE OR REPLACE FUNCTION ww_ranking_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v bigint;
    before text;
    logged integer;
BEGIN
    IF current_setting('wardwatch.ranking_bumped', true) IS DISTINCT FROM txid_current()::text THEN
        SELECT xmin::text INTO before FROM ranking_version WHERE id = 1 FOR UPDATE;
        UPDATE ranking_version SET n = n + 1 WHERE id = 1 RETURNING n INTO v;
        PERFORM set_config('wardwatch.ranking_bumped', txid_current()::text, true);
        PERFORM set_config('wardwatch.ranking_n', v::text, true);
        PERFORM set_config('wardwatch.ranking_prev', before, true);
        logged := 0;
        IF v % 64 = 0 THEN
            DELETE FROM ranking_change WHERE version <= v - 64;
        END IF;
    ELSE
        v := current_setting('wardwatch.ranking_n')::bigint;
        before := current_setting('wardwatch.ranking_prev');
        logged := current_setting('wardwatch.ranking_logged')::integer;
    END IF;
    IF logged > {CAP} THEN
        RETURN NULL;
    END IF;
    IF TG_TABLE_NAME = 'device' THEN
        IF logged = 0 THEN
            INSERT INTO ranking_change (version, prev) VALUES (v, before);
            logged := 1;
        END IF;
    ELSIF TG_TABLE_NAME <> 'device_score_current' OR logged = {CAP} THEN
        INSERT INTO ranking_change (version, prev, recompute) VALUES (v, before, true);
        logged := {CAP} + 1;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO ranking_change (version, prev, device_id) VALUES (v, before, NEW.device_id);
        logged := logged + 1;
    ELSIF TG_OP = 'UPDATE' AND NEW.device_id IS DISTINCT FROM OLD.device_id THEN
        INSERT INTO ranking_change (version, prev, recompute) VALUES (v, before, true);
        logged := {CAP} + 1;
    ELSE
        INSERT INTO ranking_change (
            version, prev, device_id, site_id, score, category, status, storage_failed, eligible, cost,
            neg_ratio, neg_score
        ) VALUES (
            v, before, OLD.device_id, OLD.site_id, OLD.score, OLD.category, OLD.status, OLD.storage_failed,
            OLD.eligible, OLD.cost, OLD.neg_ratio, OLD.neg_score
        );
        logged := logged + 1;
    END IF;
    PERFORM set_config('wardwatch.ranking_logged', logged::text, true);
    RETURN NULL;
END $$
"""

# i15d_read_0003's function, put back by the downgrade.
BUMP_0003 = """
CREATE OR REPLACE FUNCTION ww_ranking_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('wardwatch.ranking_bumped', true) IS DISTINCT FROM txid_current()::text THEN
        UPDATE ranking_version SET n = n + 1 WHERE id = 1;
        PERFORM set_config('wardwatch.ranking_bumped', txid_current()::text, true);
    END IF;
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.create_table(
        "ranking_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("prev", sa.String(), nullable=True),
        sa.Column("recompute", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("storage_failed", sa.Boolean(), nullable=True),
        sa.Column("eligible", sa.Boolean(), nullable=True),
        sa.Column("cost", sa.Integer(), nullable=True),
        sa.Column("neg_ratio", sa.Float(), nullable=True),
        sa.Column("neg_score", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ranking_change_version", "ranking_change", ["version"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(BUMP)
        op.execute(
            "CREATE CONSTRAINT TRIGGER tr_device_ranking_version AFTER INSERT ON device "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ww_ranking_version_bump()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER tr_device_ranking_version ON device")
        op.execute(BUMP_0003)
    op.drop_index("ix_ranking_change_version", table_name="ranking_change")
    op.drop_table("ranking_change")
