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
  table with a log line and skipped. A file SQLite cannot read is renamed
  ``spool.db.corrupt-<timestamp>`` (what can still be read is copied out first) and a fresh spool is
  opened. A full disk makes ``enqueue`` raise ``SpoolFull``; the caller logs it and keeps running.
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

__all__ = ["SPOOL_FILE", "Spool", "SpoolError", "SpoolFull", "SpoolItem", "SpoolStats"]

SPOOL_FILE = "spool.db"
SCHEMA_VERSION = 1
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
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_created ON outbox (created_at);
CREATE INDEX IF NOT EXISTS outbox_subject_kind ON outbox (subject, kind, seq);
CREATE TABLE IF NOT EXISTS quarantine (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id TEXT,
    reason TEXT NOT NULL,
    quarantined_at REAL NOT NULL,
    body BLOB
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
        return json.loads(gzip.decompress(self.body))


@dataclass(frozen=True)
class SpoolStats:
    count: int
    bytes: int
    oldest_at: float | None
    newest_at: float | None
    quarantined: int
    path: Path


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
        self._open()

    @classmethod
    def in_state_dir(cls, state_dir: Path, **kwargs: Any) -> Spool:
        return cls(Path(state_dir) / SPOOL_FILE, **kwargs)

    # -- opening and recovery ------------------------------------------------------------------

    def _open(self) -> None:
        try:
            self._db = self._connect()
            self._check_integrity()
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            if _code(exc) in (_SQLITE_FULL, _SQLITE_IOERR):
                raise self._wrap(exc, "open") from exc
            self._recover(f"{type(exc).__name__}: {exc}")

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
        """Move an unreadable file aside, salvage what can be read, and start a fresh spool."""
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None
        stamp = time.strftime("%Y%m%dT%H%M%S")
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{os.getpid()}")
        for suffix in ("", "-wal", "-shm"):
            src = Path(f"{self.path}{suffix}")
            if src.exists():
                os.replace(src, Path(f"{aside}{suffix}"))
        log.error(
            "spool %s is corrupt (%s); moved it to %s and opened a fresh spool", self.path, reason, aside
        )
        self._db = self._connect()
        self._db.executescript(_SCHEMA)
        self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        saved = self._salvage(aside)
        if saved:
            log.warning("spool: salvaged %d report(s) from %s", saved, aside.name)

    def _salvage(self, aside: Path) -> int:
        saved = 0
        try:
            old = sqlite3.connect(f"file:{aside}?mode=ro", uri=True, timeout=5)
        except sqlite3.Error:
            return 0
        try:
            cur = old.execute(
                "SELECT report_id, agent_id, subject, kind, failing, created_at, size, sections, body "
                "FROM outbox ORDER BY seq"
            )
            for row in cur:
                if _body_problem(row[8], row[0]) is None:
                    assert self._db is not None
                    self._db.execute(
                        "INSERT OR IGNORE INTO outbox (report_id, agent_id, subject, kind, failing, "
                        "created_at, size, sections, body) VALUES (?,?,?,?,?,?,?,?,?)",
                        row,
                    )
                    saved += 1
        except sqlite3.Error:
            pass  # keep what was read before the damage
        finally:
            old.close()
        return saved

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
            row = db.execute("SELECT report_id, body FROM outbox WHERE seq = ?", (seq,)).fetchone()
            if row is None:
                return
            db.execute(
                "INSERT INTO quarantine (report_id, reason, quarantined_at, body) VALUES (?,?,?,?)",
                (row[0], reason[:1000], self._clock(), row[1]),
            )
            db.execute("DELETE FROM outbox WHERE seq = ?", (seq,))
            db.execute(
                "DELETE FROM quarantine WHERE id NOT IN (SELECT id FROM quarantine ORDER BY id DESC LIMIT ?)",
                (QUARANTINE_KEEP,),
            )
        log.error("spool: quarantined report %s (seq %d): %s", row[0], seq, reason)

    def drop_subject_deltas(self, subject: str) -> int:
        """Deltas of ``subject`` still waiting: after a 'send a full report' answer they cannot land."""
        with self._tx("drop stale deltas") as db:
            n = db.execute("DELETE FROM outbox WHERE subject = ? AND kind = 'delta'", (subject,)).rowcount
        return n

    def stats(self) -> SpoolStats:
        db = self.db
        try:
            count, size = db.execute("SELECT count, bytes FROM totals WHERE id = 1").fetchone()
            oldest, newest = db.execute("SELECT min(created_at), max(created_at) FROM outbox").fetchone()
            quarantined = db.execute("SELECT count(*) FROM quarantine").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise self._wrap(exc, "read its statistics") from exc
        return SpoolStats(count, size, oldest, newest, quarantined, self.path)

    def compact(self) -> None:
        """Give freed pages back to the file system (after a large backlog has been delivered)."""
        with contextlib.suppress(sqlite3.Error):
            self.db.execute("PRAGMA incremental_vacuum")
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


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
