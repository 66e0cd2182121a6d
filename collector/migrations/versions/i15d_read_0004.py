"""read side: the ranking rows each version changed, for plan totals advanced instead of recomputed

``ranking_commit``: one row per version of ``ranking_version`` (the commit that raised it: its
transaction id, and ``prev``, the version row's ``xmin`` before the raise). ``ranking_change``: the
ranking rows (``device_score_current``) each transaction wrote, each with the row as it was before that
write (NULL columns: no row before, an insert), in the order of the writes.

On PostgreSQL, statement triggers with transition tables log the rows of each statement in one
``INSERT ... SELECT`` (a row trigger cost ~40 us a row, 15-25 ms a scoring job's commit of 500 rows);
the deferred row triggers of ``i15d_read_0003`` that raise the version at commit also write the
commit's ``ranking_commit`` row. A transaction that writes more than ``CAP`` ranking rows, or changes a
row's ``device_id``, logs one row with ``recompute`` true instead; so does every statement that writes a
site. A new device raises the version too (a trigger on ``device`` inserts: the plan's check that every
device has a ranking row is kept per version) and logs a row with no ``device_id`` ("devices added").
A reader holding totals of version ``n`` at ``xmin`` x applies the changes of ``n + 1`` only if its
``prev`` is x (a restored or emptied database starts another chain). Versions 64 behind are deleted
by the commit that reaches each multiple of 64. SQLite gets the tables only (it computes the totals
every time).

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

CAP = 1000  # ranking rows logged per transaction; past it, one "recompute" row

# At commit (deferred), once per transaction: raise the version and note the commit.
BUMP = """
CREATE OR REPLACE FUNCTION ww_ranking_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v bigint;
    before text;
BEGIN
    IF current_setting('wardwatch.ranking_bumped', true) IS DISTINCT FROM txid_current()::text THEN
        SELECT xmin::text INTO before FROM ranking_version WHERE id = 1 FOR UPDATE;
        UPDATE ranking_version SET n = n + 1 WHERE id = 1 RETURNING n INTO v;
        INSERT INTO ranking_commit (version, xid, prev) VALUES (v, txid_current(), before);
        PERFORM set_config('wardwatch.ranking_bumped', txid_current()::text, true);
        IF v % 64 = 0 THEN
            DELETE FROM ranking_change WHERE xid IN (SELECT xid FROM ranking_commit WHERE version <= v - 64);
            DELETE FROM ranking_commit WHERE version <= v - 64;
        END IF;
    END IF;
    RETURN NULL;
END $$
"""

# After each statement on device_score_current: its rows, as they were before it (inserts: none).
LOG = f"""
CREATE FUNCTION ww_ranking_log() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    logged bigint;
    n bigint;
    moved boolean;
BEGIN
    logged := coalesce(nullif(current_setting('wardwatch.ranking_logged', true), ''), '0')::bigint;
    IF logged > {CAP} THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        SELECT count(*) INTO n FROM new_rows;
    ELSE
        SELECT count(*) INTO n FROM old_rows;
    END IF;
    IF n = 0 THEN
        RETURN NULL;
    END IF;
    moved := false;
    IF TG_OP = 'UPDATE' THEN  -- (its own statement: old_rows exists only for updates and deletes)
        moved := EXISTS (SELECT device_id FROM old_rows EXCEPT SELECT device_id FROM new_rows);
    END IF;
    IF logged + n > {CAP} OR moved THEN
        INSERT INTO ranking_change (xid, recompute) VALUES (txid_current(), true);
        logged := {CAP} + 1;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO ranking_change (xid, device_id) SELECT txid_current(), device_id FROM new_rows;
        logged := logged + n;
    ELSE
        INSERT INTO ranking_change (
            xid, device_id, site_id, score, category, status, storage_failed, eligible, cost, neg_ratio,
            neg_score
        )
        SELECT txid_current(), device_id, site_id, score, category, status, storage_failed, eligible, cost,
            neg_ratio, neg_score
        FROM old_rows;
        logged := logged + n;
    END IF;
    PERFORM set_config('wardwatch.ranking_logged', logged::text, true);
    RETURN NULL;
END $$
"""

# After each statement on site (recompute) or device inserts (devices added).
MARK = """
CREATE FUNCTION ww_ranking_mark() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ranking_change (xid, recompute) VALUES (txid_current(), TG_TABLE_NAME = 'site');
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

STATEMENT_TRIGGERS = (
    ("tr_device_score_current_log_insert", "INSERT", "device_score_current", "NEW TABLE AS new_rows", "log"),
    (
        "tr_device_score_current_log_update",
        "UPDATE",
        "device_score_current",
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "log",
    ),
    ("tr_device_score_current_log_delete", "DELETE", "device_score_current", "OLD TABLE AS old_rows", "log"),
    ("tr_site_ranking_mark", "INSERT OR UPDATE OR DELETE", "site", "", "mark"),
    ("tr_device_ranking_mark", "INSERT", "device", "", "mark"),
)


def upgrade() -> None:
    op.create_table(
        "ranking_commit",
        sa.Column("version", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("xid", sa.BigInteger(), nullable=False),
        sa.Column("prev", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("version"),
    )
    op.create_table(
        "ranking_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("xid", sa.BigInteger(), nullable=False),
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
    op.create_index("ix_ranking_change_xid", "ranking_change", ["xid"])
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(BUMP)
    op.execute(LOG)
    op.execute(MARK)
    for name, event, table, referencing, function in STATEMENT_TRIGGERS:
        refs = f"REFERENCING {referencing} " if referencing else ""
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON {table} {refs}"
            f"FOR EACH STATEMENT EXECUTE FUNCTION ww_ranking_{function}()"
        )
    op.execute(
        "CREATE CONSTRAINT TRIGGER tr_device_ranking_version AFTER INSERT ON device "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ww_ranking_version_bump()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER tr_device_ranking_version ON device")
        for name, _event, table, _referencing, _function in STATEMENT_TRIGGERS:
            op.execute(f"DROP TRIGGER {name} ON {table}")
        op.execute("DROP FUNCTION ww_ranking_mark()")
        op.execute("DROP FUNCTION ww_ranking_log()")
        op.execute(BUMP_0003)
    op.drop_index("ix_ranking_change_xid", table_name="ranking_change")
    op.drop_table("ranking_change")
    op.drop_table("ranking_commit")
