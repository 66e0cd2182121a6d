"""overview at national size: each site's latest snapshot in ``site_current``, the city's past days

``city_daily`` starts empty: the overview fills each finished day on first need.

The overview pages its communes worst first by keyset over these rows. Filled here from each site's
newest ``site_daily`` row; afterwards every snapshot write keeps it current.

Revision ID: i15e_overview_0001
Revises: 0001_core
Create Date: 2026-12-05 04:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import collector.models.types

revision = "i15e_overview_0001"
down_revision = "0001_core"
branch_labels = ("i15e_overview",)
depends_on = ("i17_console_0001",)  # site_daily


def upgrade() -> None:
    op.create_table(
        "site_current",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("devices", sa.Integer(), nullable=False),
        sa.Column("passed", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("open_critical", sa.Integer(), nullable=False),
        sa.Column("open_high", sa.Integer(), nullable=False),
        sa.Column("open_total", sa.Integer(), nullable=False),
        sa.Column("percent", sa.Float(), nullable=True),
        sa.Column("updated_at", collector.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("site_id"),
    )
    op.create_table(
        "city_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("passed", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("sites", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )
    op.execute(
        "INSERT INTO site_current (site_id, day, devices, passed, failed, open_critical, open_high,"
        " open_total, percent, updated_at)"
        " SELECT d.site_id, d.day, d.devices, d.passed, d.failed, d.open_critical, d.open_high,"
        " d.open_total, CASE WHEN d.passed + d.failed > 0"
        " THEN 100.0 * d.passed / (d.passed + d.failed) END, d.updated_at"
        " FROM site_daily d WHERE d.day = (SELECT max(e.day) FROM site_daily e WHERE e.site_id = d.site_id)"
    )


def downgrade() -> None:
    op.drop_table("city_daily")
    op.drop_table("site_current")
