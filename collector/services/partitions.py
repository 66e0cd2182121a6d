"""Monthly partitions of the raw reports on PostgreSQL (declarative RANGE partitioning on ``collected_at``).

One partition per UTC month, named ``rawreport_pYYYY_MM`` in the ``wardwatch_partitions`` schema (out of
the application's schema, so that tools listing the tables see ``rawreport`` once, not one table per
month). There is no DEFAULT partition: a row for a month without a partition is refused by
PostgreSQL, so ``ensure_month`` runs before every insert whose month this process has not seen yet
(a report dated next month, the first report after a month rolls over, an agent's spooled report of an
older month), and the daily retention job creates the next ``AHEAD`` months in advance. Old
partitions left empty by pruning are dropped (``drop_empty_before``), which gives their disk back.

SQLite has no partitions: every function here is a no-op there.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, date, datetime

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

log = logging.getLogger(__name__)

SCHEMA = "wardwatch_partitions"
PARENT = "rawreport"
AHEAD = 3  # months created in advance by the daily job (and by the migration)
# Any constant the other advisory-lock users do not take: partition DDL runs one process at a time.
_LOCK_KEY = 0x77770015

_known: set[tuple[str, date]] = set()
_known_lock = threading.Lock()


def month_start(moment: datetime | date) -> date:
    if isinstance(moment, datetime):
        moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return date(moment.year, moment.month, 1)


def next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"{PARENT}_p{month.year:04d}_{month.month:02d}"


def is_partitioned(conn: Connection) -> bool:
    if conn.dialect.name != "postgresql":
        return False
    kind = conn.execute(
        text("SELECT c.relkind FROM pg_class c WHERE c.oid = to_regclass(:t)"), {"t": PARENT}
    ).scalar()
    return kind == "p"


def _create(conn: Connection, month: date) -> bool:
    """Create the partition of ``month`` unless it exists; whether it was created."""
    name = partition_name(month)
    if conn.execute(text("SELECT to_regclass(:n)"), {"n": f"{SCHEMA}.{name}"}).scalar() is not None:
        return False
    lo, hi = month.isoformat(), next_month(month).isoformat()
    conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{SCHEMA}"'))
    # CREATE ... PARTITION OF would lock the parent against every reader and writer until commit;
    # a table made apart and then ATTACHed takes a lock that inserts and selects do not wait for.
    # The attach adds the parent's indexes and foreign keys to it.
    conn.execute(
        text(f'CREATE TABLE "{SCHEMA}"."{name}" (LIKE "{PARENT}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS)')
    )
    conn.execute(
        text(
            f'ALTER TABLE "{PARENT}" ATTACH PARTITION "{SCHEMA}"."{name}" '
            f"FOR VALUES FROM ('{lo} 00:00:00+00') TO ('{hi} 00:00:00+00')"
        )
    )
    return True


def ensure_months(conn: Connection, first: date, last: date) -> list[str]:
    """Partitions for every month from ``first`` to ``last`` (inclusive); the names created."""
    if not is_partitioned(conn):
        return []
    # Two processes creating the same month at once would both try; the lock makes them take turns.
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    created = []
    month = month_start(first)
    while month <= month_start(last):
        if _create(conn, month):
            created.append(partition_name(month))
        month = next_month(month)
    return created


def ensure_ahead(conn: Connection, now: datetime, months: int = AHEAD) -> list[str]:
    """This month's partition and the next ``months`` ones (the maintenance the daily job runs)."""
    last = month_start(now)
    for _ in range(months):
        last = next_month(last)
    return ensure_months(conn, month_start(now), last)


def ensure_for(bind: Engine | Connection, moment: datetime) -> None:
    """Make sure a row collected at ``moment`` has a partition to land in (ingest calls this).

    Free after the first call per month and process; otherwise one short transaction of its own, so
    that the DDL's lock on the parent is not held through the caller's ingest transaction.
    """
    if bind.dialect.name != "postgresql":
        return
    engine = bind.engine if isinstance(bind, Connection) else bind
    month = month_start(moment)
    key = (str(engine.url), month)
    if key in _known:
        return
    try:
        with engine.begin() as conn:
            # Never wait long behind another transaction: the caller's insert says what is missing.
            conn.execute(text("SET LOCAL lock_timeout = '10s'"))
            ensure_months(conn, month, month)
    except OperationalError as exc:
        log.warning(
            "could not create the raw report partition of %s: %s", month, str(exc.orig or exc).strip()
        )
        return
    # Only recent months are remembered: pruning drops months older than the snapshot retention (at
    # least 90 days), never these, while an old month (a PC whose clock went back) may be dropped by
    # another process and must be checked again.
    this_month = month_start(datetime.now(UTC))
    if month >= date(this_month.year - (this_month.month == 1), (this_month.month - 2) % 12 + 1, 1):
        with _known_lock:
            _known.add(key)


def partitions(conn: Connection) -> list[tuple[str, date]]:
    """The existing partitions as (name, month), oldest first."""
    if not is_partitioned(conn):
        return []
    rows = conn.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(:p) ORDER BY c.relname"
        ),
        {"p": PARENT},
    ).scalars()
    out = []
    for name in rows:
        year, month = name.rsplit("_p", 1)[1].split("_")
        out.append((name, date(int(year), int(month), 1)))
    return out


def drop_empty_before(conn: Connection, cutoff: datetime, *, dry_run: bool = False) -> list[str]:
    """Drop partitions whose whole month lies before ``cutoff`` and that hold no row any more."""
    dropped = []
    for name, month in partitions(conn):
        if datetime(next_month(month).year, next_month(month).month, 1, tzinfo=UTC) > cutoff:
            continue
        if conn.execute(text(f'SELECT EXISTS (SELECT 1 FROM "{SCHEMA}"."{name}")')).scalar():
            continue
        if not dry_run:
            conn.execute(text(f'DROP TABLE "{SCHEMA}"."{name}"'))
            with _known_lock:
                _known.difference_update({k for k in _known if k[1] == month})
        dropped.append(name)
    return dropped
