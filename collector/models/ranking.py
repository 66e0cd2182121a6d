"""The read side at national size: the stored replacement ranking and the indexes the hot lists walk.

``device_score_current`` is one narrow row per scored device, written by
``collector.services.scoring.recompute_scores`` whenever the device's score is (re)computed, so the
replacement ranking is one indexed query (``collector.services.ranking``) instead of recomputing and
sorting every device per request. The ranking order is "risk reduced per đồng" (score / unit cost)
descending, then the score descending, the cost and the id ascending; the descending parts are stored
negated (``neg_ratio``, ``neg_score``) so that one plain ascending index serves the whole order on
SQLite and PostgreSQL alike.

The other indexes below belong to tables of other domains; they live here (and in the migration
``i15d_read_0001``) because the read side's queries are what need them: each is justified with its
EXPLAIN in docs/architecture.md ("Read side at national size").
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import BigInteger, Index, literal_column, text
from sqlalchemy import false as sa_false
from sqlmodel import Field, SQLModel

from collector.models.assets import Asset
from collector.models.certificates import DeviceCertificate
from collector.models.core import Device
from collector.models.findings import Finding

# Eligible rows some must-replace rule may take (collector.services.planning_pages._must): the written
# form of the query's conditions (``IS true``), so that PostgreSQL proves the implication.
MUST_ANY_SQL = (
    "eligible IS true AND (status = 'to_replace' OR storage_failed IS true OR category = 'replace_now')"
)


class DeviceScoreCurrent(SQLModel, table=True):
    __tablename__ = "device_score_current"
    __table_args__ = (
        # The ranking: eligible rows in rank order (an index walk that stops after a page).
        Index("ix_device_score_current_rank", "eligible", "neg_ratio", "neg_score", "cost", "device_id"),
        # One commune's ranking: the plan's commune minimums walk each commune's best candidates and stop
        # after its quota (migration i15d_read_0002).
        Index(
            "ix_device_score_current_site_rank",
            "site_id",
            "eligible",
            "neg_ratio",
            "neg_score",
            "cost",
            "device_id",
        ),
        # The plan's must-replace phase: the rows any must-replace rule may take, in rank order (a rule
        # subset is an OR the planner proves implies this predicate). Without it the phase walked
        # every eligible row of the rank index to find its ~3,500 (migration i15d_read_0002).
        Index(
            "ix_device_score_current_must",
            "neg_ratio",
            "neg_score",
            "cost",
            "device_id",
            postgresql_where=text(MUST_ANY_SQL),
            sqlite_where=text(MUST_ANY_SQL),
        ),
        # The overview's counts per category.
        Index("ix_device_score_current_site_category", "site_id", "category"),
        # Rows whose unit cost is no longer the planners' (one range probe per class per plan).
        Index("ix_device_score_current_class_cost", "device_class", "cost"),
        # Rows scored on an earlier day or with another scoring configuration.
        Index("ix_device_score_current_fresh", "computed_on", "config_digest"),
    )

    device_id: int = Field(foreign_key="device.id", primary_key=True, ondelete="CASCADE")
    # The device's site (moved with the device by collector.services.moves, like every table with one
    # key to device and one to site): scoped rankings filter on it.
    site_id: int = Field(foreign_key="site.id", ondelete="CASCADE")  # ix_..._site_category leads with it
    score: int
    category: str = Field(max_length=16)
    device_class: str = Field(max_length=32)
    virtual: bool = False
    status: str = Field(max_length=16)  # the asset record's lifecycle status (in_service when none)
    storage_failed: bool = False  # a critical storage rule fired (must-replace rule storage_failed)
    cost: int | None = None  # the class's unit cost when stored; None: no unit cost
    # In service or to replace, not virtual, with a unit cost: what the plan may buy.
    eligible: bool = False
    neg_ratio: float = 0.0  # -(score / cost); 0 without a cost
    neg_score: int = 0  # -score
    config_digest: str = Field(max_length=64)
    computed_on: date


class RankingVersion(SQLModel, table=True):
    """The version of what a plan's totals are computed from: one row (id 1) whose ``n`` every committed
    transaction that wrote ``device_score_current`` or ``site`` has raised by one, in that same commit.

    Raised on PostgreSQL by deferred constraint triggers (migration ``i15d_read_0003``): they run at
    commit, after every other lock the writer takes, so writers queue on this row only for the instant
    of their commit and cannot deadlock on it. ``collector.services.planning_pages`` keys its cache of
    plan totals on it (a reader sees a new ``n`` exactly when it sees the write). SQLite has the row but
    no triggers: it computes the totals every time."""

    __tablename__ = "ranking_version"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    n: int = Field(default=0, sa_type=BigInteger)


class RankingCommit(SQLModel, table=True):
    """The commit that raised ``ranking_version`` to ``version``: its transaction id (``xid``, the key of
    its ``ranking_change`` rows) and the version row's ``xmin`` before the raise (``prev``), so that a
    chain of versions is followed only from the state it started from. Written on PostgreSQL by the
    version triggers (migration ``i15d_read_0004``), never by the application; 64 versions kept."""

    __tablename__ = "ranking_commit"

    version: int = Field(sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False})
    xid: int = Field(sa_type=BigInteger)
    prev: str | None = None


class RankingChange(SQLModel, table=True):
    """A ranking row that transaction ``xid`` wrote, with its columns as they were before that write (all
    NULL when it had none: an insert). ``recompute``: that transaction changed more than a plan's totals
    can follow row by row (over ``CAP`` rows, a site, a row's id). ``device_id`` NULL otherwise: the
    transaction added devices (no ranking row changed).

    Written on PostgreSQL by statement triggers (migration ``i15d_read_0004``), in the writer's
    transaction, never by the application; ``collector.services.planning_pages`` advances kept plan
    totals by these rows."""

    __tablename__ = "ranking_change"
    __table_args__ = (Index("ix_ranking_change_xid", "xid"),)

    id: int | None = Field(default=None, primary_key=True)
    xid: int = Field(sa_type=BigInteger)
    recompute: bool = Field(default=False, sa_column_kwargs={"server_default": sa_false()})
    device_id: int | None = None
    site_id: int | None = None
    score: int | None = None
    category: str | None = Field(default=None, max_length=16)
    status: str | None = Field(default=None, max_length=16)
    storage_failed: bool | None = None
    eligible: bool | None = None
    cost: int | None = None
    neg_ratio: float | None = None
    neg_score: int | None = None


# ---- indexes on other domains' tables, for the hot lists -------------------------------------------

# Findings, most severe first (the default sort of the findings table and GET /api/v1/findings): the
# CASE of collector.services.tables.findings.SEVERITY_RANK written with inline constants, so that
# PostgreSQL matches the query's expression to this index and walks it instead of sorting every
# finding. The line breaks are where PostgreSQL puts them when it shows the index, so that the
# migration test's comparison of models and schema sees the same expression.
SEVERITY_RANK_SQL = (
    "(\nCASE\n WHEN severity = 'critical' THEN 0\n WHEN severity = 'high' THEN 1\n"
    " WHEN severity = 'medium' THEN 2\n WHEN severity = 'low' THEN 3\n WHEN severity = 'info' THEN 4\n"
    " ELSE 5\nEND)"
)


def _rank() -> Any:
    # A fresh expression per index: an index takes ownership of the expressions it is given.
    return literal_column(SEVERITY_RANK_SQL)


def _index(name: str, model: Any, *columns: Any) -> Index:
    """An index on another domain's table: columns by name, expressions (``_rank()``) as they are."""
    table = model.__table__
    return Index(name, *(table.c[c] if isinstance(c, str) else c for c in columns))


_index("ix_finding_severity_rank", Finding, _rank(), "first_seen_at", "id")
# One site's findings in the default order (the site filter and every scoped user).
_index("ix_finding_site_severity_rank", Finding, "site_id", _rank(), "first_seen_at", "id")
# Findings of one severity (the severity filter), in the default order: equality on the severity, then
# the same order as above.
_index("ix_finding_severity_severity_rank", Finding, "severity", _rank(), "first_seen_at", "id")
# Findings newest (or oldest) first.
_index("ix_finding_first_seen_id", Finding, "first_seen_at", "id")
# Certificates expiring soonest, as a keyset page (not_after, id) and per site.
_index("ix_device_certificate_not_after_id", DeviceCertificate, "not_after", "id")
_index("ix_device_certificate_site_not_after", DeviceCertificate, "site_id", "not_after")
# A site's devices by hostname (the site filter of the devices list; site compliance's device list).
_index("ix_device_site_hostname_id", Device, "site_id", "hostname", "id")
# Devices of one kind: the search's pass over network devices (a handful among 100,000 PCs, read by a
# seq scan without it) and the devices table's sort by kind.
_index("ix_device_kind_hostname_id", Device, "kind", "hostname", "id")
# The newest report per site (overview, sites list): an index-only max per site.
_index("ix_device_site_last_report", Device, "site_id", "last_report_at")

# Substring search ("pc-0421" anywhere in a hostname, a serial, a certificate's holder, an asset tag) is
# ILIKE '%...%', which no b-tree serves: PostgreSQL reads it from trigram (pg_trgm) GIN indexes instead of
# scanning every row. SQLite has no such index; the migration creates these on PostgreSQL only (so they are
# declared for PostgreSQL only: ``postgresql_using`` is ignored elsewhere, hence ``_pg_only``).
TRGM = {"postgresql_using": "gin"}


def _trgm(name: str, column: Any) -> Index:
    index = Index(name, column, postgresql_ops={column.name: "gin_trgm_ops"}, **TRGM)
    index.info["postgresql_only"] = True
    return index


_trgm("ix_device_hostname_trgm", Device.__table__.c.hostname)  # type: ignore[attr-defined]
_trgm("ix_device_serial_trgm", Device.__table__.c.serial)  # type: ignore[attr-defined]
_trgm("ix_device_certificate_subject_trgm", DeviceCertificate.__table__.c.subject)  # type: ignore[attr-defined]
_trgm("ix_device_certificate_subject_cn_trgm", DeviceCertificate.__table__.c.subject_cn)  # type: ignore[attr-defined]
_trgm("ix_asset_asset_tag_trgm", Asset.__table__.c.asset_tag)  # type: ignore[attr-defined]
