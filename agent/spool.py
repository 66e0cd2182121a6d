"""The durable outbox: reports wait here (one SQLite file, ``spool.db``) until the collector takes them.

Guarantees
- ``enqueue`` returns only once the report is on disk (WAL, ``synchronous=FULL``): a report it
  acknowledged survives a killed process or a power cut. ``ack`` deletes it in one transaction
  once the collector answered 202. Reports leave in FIFO order (``seq``).
- Bounded: by stored (gzip) size, default 200 MB, and by age, default 14 days. Eviction order,
  when a bound is exceeded (oldest first within each step):
    1. heartbeats (proof of life, no findings: the cheapest loss);
    2. inventory and check reports whose results all pass;
    3. reports carrying failing (``fail``/``error``) check results;
  and never the newest full report of each subject (host or network device): the collector can
  rebuild everything from it, and deltas need a base. Reports older than the age bound go
  whatever their class, except that newest full report.
- A record that does not decompress or parse (bit rot, a bad disk) is moved to the ``quarantine``
  table with a log line and skipped; so is a report the collector refuses for good
  (``agent.delivery``). A file SQLite cannot read is renamed ``spool.db.corrupt-<timestamp>-<pid>``
  and a fresh spool is opened; every intact record is salvaged from it page by page
  (``agent.salvage``), in its old order. The set-aside file is removed once every report salvaged
  from it has left the outbox; one nothing could be salvaged from stays for a technician.
- A full disk makes ``enqueue`` raise ``SpoolFull``; the caller logs it and keeps running. Opening a
  spool whose schema is current writes nothing to it, and ``inspect`` reads one read-only, on a
  full disk too (``wardwatch agent status``).
"""

from __future__ import annotations

import contextlib
import gzip
import json
import logging
import os
import sqlite3
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.errors import SpoolError, SpoolFull

log = logging.getLogger(__name__)

__all__ = [
    "SPOOL_FILE",
    "QuarantinedRecord",
    "Spool",
    "SpoolError",
    "SpoolFull",
    "SpoolItem",
    "SpoolStats",
    "inspect",
]

SPOOL_FILE = "spool.db"
SPOOL_FILE_VERSION = 2  # the spool file's own layout (PRAGMA user_version), not the wire schema
QUARANTINE_KEEP = 200  # the newest quarantined records kept for a technician to look at

# SQLite primary result codes (extended codes carry them in the low byte).
_SQLITE_IOERR, _SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_NOTADB = 10, 11, 13, 26

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id TEXT NOT NULL UNIQUE,
    agent_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    kind TEXT NOT NULL,
    failing INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    size INTEGER NOT NULL,
    sections TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    body BLOB NOT NULL,
    strikes INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outbox_created ON outbox (created_at);
CREATE INDEX IF NOT EXISTS outbox_subject_kind ON outbox (subject, kind, seq);
CREATE TABLE IF NOT EXISTS quarantine (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id TEXT,
    reason TEXT NOT NULL,
    quarantined_at REAL NOT NULL,
    body BLOB,
    kind TEXT,
    subject TEXT
);
CREATE TABLE IF NOT EXISTS salvaged (
    aside TEXT PRIMARY KEY,
    upto INTEGER NOT NULL,
    count INTEGER NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS totals (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    count INTEGER NOT NULL,
    bytes INTEGER NOT NULL
);
INSERT OR IGNORE INTO totals (id, count, bytes) VALUES (1, 0, 0);
CREATE TRIGGER IF NOT EXISTS outbox_in AFTER INSERT ON outbox BEGIN
    UPDATE totals SET count = count + 1, bytes = bytes + NEW.size WHERE id = 1;
END;
CREATE TRIGGER IF NOT EXISTS outbox_out AFTER DELETE ON outbox BEGIN
    UPDATE totals SET count = count - 1, bytes = bytes - OLD.size WHERE id = 1;
END;
"""

# Columns added since schema version 1 (ALTER TABLE on an older file).
_ADDED_COLUMNS = (
    ("outbox", "strikes", "INTEGER NOT NULL DEFAULT 0"),
    ("quarantine", "kind", "TEXT"),
    ("quarantine", "subject", "TEXT"),
)
# An outbox or quarantine record's header after its size byte: NULL (the rowid alias), then a
# 36-character text (the report id). Salvage looks for it on damaged pages.
_RECORD_SIGNATURE = b"\x00\x55"
_ASIDE_PREFIX = ".corrupt-"

# Newest full report per subject: kept through every eviction.
_PROTECTED = """
    seq NOT IN (SELECT max(seq) FROM outbox WHERE kind = 'full' GROUP BY subject)
"""


class _Recovered(SpoolError):
    """The file was found damaged mid-operation and replaced; the operation may be tried again."""


@dataclass(frozen=True)
class SpoolItem:
    seq: int
    report_id: str
    agent_id: str
    subject: str
    kind: str
    failing: int
    created_at: float
    attempts: int
    sections: dict[str, str] | None
    body: bytes  # gzip-compressed report JSON, exactly what is sent

    def report(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(gzip.decompress(self.body))
        return data


@dataclass(frozen=True)
class SpoolStats:
    count: int
    bytes: int
    oldest_at: float | None
    newest_at: float | None
    quarantined: int
    path: Path


@dataclass(frozen=True)
class QuarantinedRecord:
    """A record set aside: refused for good by the collector, or damaged on disk. Its bytes stay."""

    report_id: str | None
    kind: str | None
    subject: str | None
    reason: str
    quarantined_at: float


class Spool:
    """One SQLite outbox file. Not shared between threads; several processes may open it (WAL)."""

    def __init__(
        self,
        path: Path,
        *,
        max_bytes: int = 200 * 1024 * 1024,
        max_age_seconds: float = 14 * 86400,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.max_age_seconds = max_age_seconds
        self._clock = clock
        self._db: sqlite3.Connection | None = None
        self._aside_upto = 0  # the highest seq salvaged from a set-aside file still kept
        self._open()

    @classmethod
    def in_state_dir(cls, state_dir: Path, **kwargs: Any) -> Spool:
        return cls(Path(state_dir) / SPOOL_FILE, **kwargs)

    # -- opening and recovery ------------------------------------------------------------------

    def _open(self) -> None:
        try:
            self._db = self._connect()
            self._check_integrity()
            # A current schema is not written again: a spool opens (and can be read) on a full disk.
            if self._db.execute("PRAGMA user_version").fetchone()[0] < SPOOL_FILE_VERSION:
                _create_schema(self._db)
        except sqlite3.DatabaseError as exc:
            if _code(exc) in (_SQLITE_FULL, _SQLITE_IOERR):
                raise self._wrap(exc, "open") from exc
            self._recover(f"{type(exc).__name__}: {exc}")
        self._release_asides()

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            # Created 0600 before SQLite touches it; SQLite gives -wal/-shm the same mode.
            with contextlib.suppress(FileExistsError):
                os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.execute("PRAGMA auto_vacuum = INCREMENTAL")  # effective on a new file only
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
        db.execute("PRAGMA busy_timeout = 30000")
        return db

    def _check_integrity(self) -> None:
        assert self._db is not None
        rows = self._db.execute("PRAGMA quick_check").fetchall()
        if rows != [("ok",)]:
            raise sqlite3.DatabaseError("; ".join(str(r[0]) for r in rows[:5]))

    def _recover(self, reason: str) -> None:
        """Move an unreadable file aside, start a fresh spool, and salvage every intact record into it."""
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None
        stamp = time.strftime("%Y%m%dT%H%M%S")
        aside = self.path.with_name(f"{self.path.name}{_ASIDE_PREFIX}{stamp}-{os.getpid()}")
        for suffix in ("", "-wal", "-shm"):
            src = Path(f"{self.path}{suffix}")
            if src.exists():
                os.replace(src, Path(f"{aside}{suffix}"))
        log.error(
            "spool %s is corrupt (%s); moved it to %s and opened a fresh spool", self.path, reason, aside
        )
        self._db = self._connect()
        _create_schema(self._db)
        saved = self._salvage(aside)
        if saved:
            log.warning(
                "spool: salvaged %d report(s) from %s; it is removed once they are delivered",
                saved,
                aside.name,
            )
        else:
            log.warning("spool: nothing could be salvaged from %s; it is kept for a technician", aside.name)

    def _salvage(self, aside: Path) -> int:
        """Copy every intact record of the set-aside file into this fresh spool, under its old seq.

        Page by page (``agent.salvage``): damage loses only the records it touched. An outbox
        record counts when its body decompresses (gzip CRC) into the report its row names. A
        report found both waiting and quarantined (an old copy of a page) stays quarantined.
        """
        from agent import salvage

        db = self.db
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error:
            return 0
        try:
            try:
                for rowid, values in salvage.rows(aside, signature=_RECORD_SIGNATURE):
                    if _outbox_row(values):
                        if _body_problem(values[11], values[1]) is None:
                            row = (rowid, *values[1:7], len(values[11]), *values[8:12], _strikes(values))
                            db.execute(
                                "INSERT OR IGNORE INTO outbox (seq, report_id, agent_id, subject, kind, "
                                "failing, created_at, size, sections, attempts, last_error, body, strikes) "
                                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                                row,
                            )
                    elif _quarantine_row(values):
                        db.execute(
                            "INSERT OR IGNORE INTO quarantine (id, report_id, reason, quarantined_at, body, "
                            "kind, subject) VALUES (?,?,?,?,?,?,?)",
                            (rowid, *values[1:5], *(list(values[5:7]) + [None, None])[:2]),
                        )
            except OSError as exc:
                log.warning("spool: reading %s stopped: %s", aside.name, exc)
            db.execute(
                "DELETE FROM outbox WHERE report_id IN "
                "(SELECT report_id FROM quarantine WHERE report_id IS NOT NULL)"
            )
            db.execute(
                "DELETE FROM quarantine WHERE id NOT IN (SELECT id FROM quarantine ORDER BY id DESC LIMIT ?)",
                (QUARANTINE_KEEP,),
            )
            saved, upto = db.execute("SELECT count(*), max(seq) FROM outbox").fetchone()
            if saved:
                db.execute(
                    "INSERT OR REPLACE INTO salvaged (aside, upto, count, at) VALUES (?,?,?,?)",
                    (aside.name, upto, saved, self._clock()),
                )
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            log.error("spool: cannot store what was salvaged from %s: %s", aside.name, exc)
            return 0
        return int(saved)

    def _release_asides(self) -> None:
        """Remove each set-aside file once every report salvaged from it has left the outbox."""
        db = self._db
        if db is None:
            return
        try:
            asides = db.execute("SELECT aside, upto FROM salvaged").fetchall()
            done = [
                name
                for name, upto in asides
                if db.execute("SELECT 1 FROM outbox WHERE seq <= ? LIMIT 1", (upto,)).fetchone() is None
            ]
            for name in done:
                db.execute("DELETE FROM salvaged WHERE aside = ?", (name,))
        except sqlite3.Error:
            return  # a full disk, say: the files stay until the next time
        remaining = [upto for name, upto in asides if name not in done]
        self._aside_upto = max(remaining, default=0)
        for name in done:
            if not name.startswith(f"{self.path.name}{_ASIDE_PREFIX}"):
                continue  # only ever a file this spool set aside, next to it
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    (self.path.parent / f"{name}{suffix}").unlink()
            log.info("spool: every report salvaged from %s has left the outbox; removed it", name)

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise SpoolError(f"spool {self.path} is closed")
        return self._db

    def close(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._db.close()
            self._db = None

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- errors --------------------------------------------------------------------------------

    def _wrap(self, exc: sqlite3.Error, what: str) -> SpoolError:
        code = _code(exc)
        if code == _SQLITE_FULL or (code == _SQLITE_IOERR and _disk_full(self.path)):
            return SpoolFull(f"spool {self.path}: disk full, cannot {what} ({exc})")
        return SpoolError(f"spool {self.path}: cannot {what}: {exc}")

    def _begin(self, what: str) -> sqlite3.Connection:
        for attempt in (1, 2):
            db = self.db
            try:
                db.execute("BEGIN IMMEDIATE")
                return db
            except sqlite3.DatabaseError as exc:
                if _code(exc) in (_SQLITE_CORRUPT, _SQLITE_NOTADB) and attempt == 1:
                    self._recover(str(exc))
                    continue
                raise self._wrap(exc, what) from exc
        raise AssertionError("unreachable")

    @contextlib.contextmanager
    def _tx(self, what: str) -> Iterator[sqlite3.Connection]:
        """One write transaction. Damage found inside it recovers the file and raises ``_Recovered``."""
        db = self._begin(what)
        try:
            yield db
            db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            if _code(exc) in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
                self._recover(str(exc))
                raise _Recovered(f"spool {self.path} was damaged and has been recovered") from exc
            raise self._wrap(exc, what) from exc
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise

    # -- the outbox ----------------------------------------------------------------------------

    def enqueue(
        self,
        report_json: bytes,
        *,
        report_id: str,
        agent_id: str,
        subject: str = "host",
        kind: str = "full",
        failing: int = 0,
        sections: dict[str, str] | None = None,
    ) -> int:
        """Store one report durably; returns its sequence number. Enqueuing the same id twice is a no-op."""
        body = gzip.compress(report_json, compresslevel=6, mtime=0)
        row = (
            report_id,
            agent_id,
            subject,
            kind,
            failing,
            None,
            len(body),
            json.dumps(sections) if sections is not None else None,
            body,
        )
        try:
            return self._insert(row)
        except _Recovered:
            return self._insert(row)

    def _insert(self, row: tuple[Any, ...]) -> int:
        now = self._clock()
        row = (*row[:5], now, *row[6:])
        with self._tx("enqueue a report") as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO outbox (report_id, agent_id, subject, kind, failing, created_at, "
                "size, sections, body) VALUES (?,?,?,?,?,?,?,?,?)",
                row,
            )
            seq = cur.lastrowid if cur.rowcount else None
            self._evict(db, now)
        if seq is None:
            found = self.db.execute("SELECT seq FROM outbox WHERE report_id = ?", (row[0],)).fetchone()
            return int(found[0]) if found else 0
        return int(seq)

    def _evict(self, db: sqlite3.Connection, now: float) -> None:
        old = db.execute(
            f"DELETE FROM outbox WHERE created_at < ? AND {_PROTECTED} RETURNING report_id, kind",
            (now - self.max_age_seconds,),
        ).fetchall()
        if old:
            log.warning(
                "spool: dropped %d report(s) older than %.0f days", len(old), self.max_age_seconds / 86400
            )
        total = db.execute("SELECT bytes FROM totals WHERE id = 1").fetchone()[0]
        if total <= self.max_bytes:
            return
        excess = total - self.max_bytes
        victims: list[int] = []
        freed = 0
        order = f"""
            SELECT seq, size FROM outbox WHERE {_PROTECTED}
            ORDER BY CASE WHEN kind = 'heartbeat' THEN 0 WHEN failing = 0 THEN 1 ELSE 2 END, seq
        """
        for seq, size in db.execute(order):
            victims.append(seq)
            freed += size
            if freed >= excess:
                break
        for i in range(0, len(victims), 500):
            chunk = victims[i : i + 500]
            db.execute(f"DELETE FROM outbox WHERE seq IN ({','.join('?' * len(chunk))})", chunk)
        if victims:
            log.warning(
                "spool: over its %d-byte bound; dropped %d report(s) (heartbeats, passing, then failing)",
                self.max_bytes,
                len(victims),
            )

    def peek(self, limit: int = 100, *, after_seq: int = 0) -> list[SpoolItem]:
        """The oldest reports, in order; corrupt records are quarantined on the way and left out."""
        items: list[SpoolItem] = []
        try:
            rows = self.db.execute(
                "SELECT seq, report_id, agent_id, subject, kind, failing, created_at, attempts, sections, "
                "body FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
                (after_seq, limit),
            ).fetchall()
        except sqlite3.DatabaseError as exc:
            if _code(exc) in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
                self._recover(str(exc))
                return self.peek(limit, after_seq=after_seq)
            raise self._wrap(exc, "read reports") from exc
        for seq, report_id, agent_id, subject, kind, failing, created_at, attempts, sections, body in rows:
            problem = _body_problem(body, report_id)
            parsed_sections: dict[str, str] | None = None
            if problem is None and sections:
                try:
                    parsed_sections = json.loads(sections)
                except ValueError:
                    problem = "its section hashes are not JSON"
            if problem is not None:
                self.quarantine(seq, f"corrupt record: {problem}")
                continue
            items.append(
                SpoolItem(
                    seq=seq,
                    report_id=report_id,
                    agent_id=agent_id,
                    subject=subject,
                    kind=kind,
                    failing=failing,
                    created_at=created_at,
                    attempts=attempts,
                    sections=parsed_sections,
                    body=body,
                )
            )
        return items

    def ack(self, seq: int) -> None:
        """The collector has the report: forget it.

        Without an fsync of its own: an acknowledgement lost to a power cut only means the report
        is sent again, and the collector answers ``duplicate``. (The next enqueue's fsync makes
        earlier acknowledgements durable too.) This keeps a 10,000-report backlog flush fast.
        """
        db = self.db
        db.execute("PRAGMA synchronous = NORMAL")
        try:
            with self._tx("acknowledge a report") as tx:
                tx.execute("DELETE FROM outbox WHERE seq = ?", (seq,))
        finally:
            if self._db is not None:
                self._db.execute("PRAGMA synchronous = FULL")
        if seq <= self._aside_upto:
            self._release_asides()

    def replace_body(self, seq: int, report_json: bytes, agent_id: str) -> bytes:
        """Rewrite a waiting report (e.g. for a new agent id after re-enrolling); returns the new body."""
        body = gzip.compress(report_json, compresslevel=6, mtime=0)
        with self._tx("rewrite a report") as db:
            db.execute(
                "UPDATE outbox SET body = ?, size = ?, agent_id = ? WHERE seq = ?",
                (body, len(body), agent_id, seq),
            )
        return body

    def note_failure(self, seq: int, error: str) -> None:
        with contextlib.suppress(SpoolError), self._tx("record a delivery failure") as db:
            db.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE seq = ?", (error[:500], seq)
            )

    def quarantine(self, seq: int, reason: str) -> None:
        """Move one record out of the outbox, keeping its bytes for a technician."""
        with self._tx("quarantine a report") as db:
            row = db.execute(
                "SELECT report_id, body, kind, subject FROM outbox WHERE seq = ?", (seq,)
            ).fetchone()
            if row is None:
                return
            db.execute(
                "INSERT INTO quarantine (report_id, reason, quarantined_at, body, kind, subject) "
                "VALUES (?,?,?,?,?,?)",
                (row[0], reason[:1000], self._clock(), row[1], row[2], row[3]),
            )
            db.execute("DELETE FROM outbox WHERE seq = ?", (seq,))
            db.execute(
                "DELETE FROM quarantine WHERE id NOT IN (SELECT id FROM quarantine ORDER BY id DESC LIMIT ?)",
                (QUARANTINE_KEEP,),
            )
        log.error("spool: quarantined report %s (seq %d): %s", row[0], seq, reason)
        if seq <= self._aside_upto:
            self._release_asides()

    def strike(self, seq: int) -> int:
        """One more failure that was this report's own (see ``agent.delivery``); the count so far."""
        with self._tx("count a failure") as db:
            row = db.execute(
                "UPDATE outbox SET strikes = strikes + 1 WHERE seq = ? RETURNING strikes", (seq,)
            ).fetchone()
        return int(row[0]) if row else 0

    def quarantined(self, limit: int = 10) -> list[QuarantinedRecord]:
        """The newest quarantined records (``stats().quarantined`` counts them all)."""
        try:
            return _quarantined(self.db, limit)
        except sqlite3.DatabaseError as exc:
            raise self._wrap(exc, "read its quarantine") from exc

    def drop_subject_deltas(self, subject: str) -> int:
        """Deltas of ``subject`` still waiting: after a 'send a full report' answer they cannot land."""
        with self._tx("drop stale deltas") as db:
            n = db.execute("DELETE FROM outbox WHERE subject = ? AND kind = 'delta'", (subject,)).rowcount
        return n

    def stats(self) -> SpoolStats:
        try:
            return _stats(self.db, self.path)
        except sqlite3.DatabaseError as exc:
            raise self._wrap(exc, "read its statistics") from exc

    def compact(self) -> None:
        """Give freed pages back to the file system (after a large backlog has been delivered)."""
        with contextlib.suppress(sqlite3.Error):
            self.db.execute("PRAGMA incremental_vacuum")
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def inspect(path: Path, *, limit: int = 10) -> tuple[SpoolStats, list[QuarantinedRecord]]:
    """Statistics and the newest quarantined records of the spool at ``path``, read-only.

    For ``wardwatch agent status``: it works on a full disk, beside a running agent, and never
    recovers or migrates the file (that is the agent's job). Without room for SQLite's shared
    memory file the spool is read as it was last checkpointed (``immutable``).
    """
    last: sqlite3.Error | None = None
    for query in ("mode=ro", "immutable=1"):
        try:
            db = sqlite3.connect(f"{Path(path).absolute().as_uri()}?{query}", uri=True, timeout=5)
        except sqlite3.Error as exc:
            last = exc
            continue
        try:
            if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'totals'").fetchone() is None:
                # Created, never written (the disk was full): an empty spool.
                return SpoolStats(0, 0, None, None, 0, Path(path)), []
            return _stats(db, Path(path)), _quarantined(db, limit)
        except sqlite3.Error as exc:
            last = exc
        finally:
            db.close()
    raise SpoolError(f"spool {path}: cannot read it: {last}")


def _create_schema(db: sqlite3.Connection) -> None:
    db.executescript(_SCHEMA)
    for table, column, decl in _ADDED_COLUMNS:
        if column not in {r[1] for r in db.execute(f"PRAGMA table_info({table})")}:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")
    db.execute(f"PRAGMA user_version = {SPOOL_FILE_VERSION}")


def _stats(db: sqlite3.Connection, path: Path) -> SpoolStats:
    count, size = db.execute("SELECT count, bytes FROM totals WHERE id = 1").fetchone()
    oldest, newest = db.execute("SELECT min(created_at), max(created_at) FROM outbox").fetchone()
    quarantined = db.execute("SELECT count(*) FROM quarantine").fetchone()[0]
    return SpoolStats(count, size, oldest, newest, quarantined, path)


def _quarantined(db: sqlite3.Connection, limit: int) -> list[QuarantinedRecord]:
    cols = {r[1] for r in db.execute("PRAGMA table_info(quarantine)")}
    extra = "kind, subject" if "kind" in cols else "NULL, NULL"  # a version-1 file, read as it is
    rows = db.execute(
        f"SELECT report_id, {extra}, reason, quarantined_at FROM quarantine ORDER BY id DESC LIMIT ?",
        (limit,),
    ).fetchall()
    return [QuarantinedRecord(*row) for row in rows]


def _outbox_row(v: list[Any]) -> bool:
    """An outbox record: (seq alias, report_id, agent_id, subject, kind, failing, created_at, size,
    sections, attempts, last_error, body[, strikes])."""
    return (
        len(v) in (12, 13)
        and v[0] is None
        and all(isinstance(x, str) for x in v[1:5])
        and isinstance(v[5], int)
        and isinstance(v[6], int | float)
        and isinstance(v[9], int)
        and isinstance(v[8], str | None)
        and isinstance(v[10], str | None)
        and isinstance(v[11], bytes)
        and (len(v) == 12 or isinstance(v[12], int))
    )


def _strikes(v: list[Any]) -> int:
    return int(v[12]) if len(v) == 13 else 0


def _quarantine_row(v: list[Any]) -> bool:
    """A quarantine record: (id alias, report_id, reason, quarantined_at, body[, kind, subject])."""
    return (
        5 <= len(v) <= 7
        and v[0] is None
        and isinstance(v[1], str | None)
        and isinstance(v[2], str)
        and isinstance(v[3], int | float)
        and isinstance(v[4], bytes | None)
        and all(isinstance(x, str | None) for x in v[5:])
    )


def _code(exc: sqlite3.Error) -> int:
    return (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF


def _disk_full(path: Path) -> bool:
    try:
        st = os.statvfs(path.parent)
    except (OSError, AttributeError):
        return False
    return st.f_bavail * st.f_frsize < 64 * 1024


def _body_problem(body: Any, report_id: str) -> str | None:
    """Why a stored body cannot be sent (None when it is sound). gzip checks its CRC on the way."""
    if not isinstance(body, bytes | memoryview):
        return "the body is not bytes"
    try:
        data = json.loads(gzip.decompress(body))
    except (OSError, EOFError, zlib.error) as exc:
        return f"the body does not decompress ({exc})"
    except ValueError as exc:
        return f"the body is not JSON ({exc})"
    if not isinstance(data, dict) or str(data.get("report_id")) != report_id:
        return "the body is not the report its row names"
    return None
