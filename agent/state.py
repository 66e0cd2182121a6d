"""The agent's state directory: its identity (id and key), the delta baseline and its status.

Every file is written atomically (a temporary file in the same directory, fsync, rename, fsync of
the directory), so a power cut leaves the old or the new content, never half of each. Files that
hold the agent key are mode 0600 and the directory 0700. The spool (``spool.db``) lives here too but
is managed by ``agent.spool``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

IDENTITY_FILE = "agent.json"
BASELINE_FILE = "baseline.json"
STATUS_FILE = "status.json"
LOCK_FILE = "run.lock"


class StateError(OSError):
    """The state directory cannot be read or written; the message names the path."""


def ensure_state_dir(state_dir: Path) -> Path:
    try:
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise StateError(f"cannot create the agent state directory {state_dir}: {exc.strerror}") from exc
    return state_dir


def atomic_write(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` atomically and durably; the file gets ``mode`` from birth."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), mode)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise StateError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable; not possible (nor needed) on Windows.
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``; None when absent. A corrupt file is moved aside with a log line."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        return data
    except ValueError as exc:
        aside = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}")
        with contextlib.suppress(OSError):
            os.replace(path, aside)
        log.error("agent state file %s is corrupt (%s); moved it to %s", path, exc, aside.name)
        return None


def _write_json(path: Path, data: dict[str, Any]) -> None:
    ensure_state_dir(path.parent)
    atomic_write(path, json.dumps(data, indent=2, sort_keys=True).encode())


@dataclass
class AgentState:
    """Who this agent is to its collector. ``agent_key`` is a secret: never logged, never reported."""

    agent_id: str
    agent_key: str
    collector_url: str
    site: str | None = None
    enrolled_at: float = field(default_factory=time.time)

    @classmethod
    def load(cls, state_dir: Path) -> AgentState | None:
        data = _read_json(state_dir / IDENTITY_FILE)
        if data is None:
            return None
        try:
            return cls(
                agent_id=str(data["agent_id"]),
                agent_key=str(data["agent_key"]),
                collector_url=str(data["collector_url"]),
                site=data.get("site"),
                enrolled_at=float(data.get("enrolled_at") or 0),
            )
        except (KeyError, TypeError, ValueError):
            log.error("agent state file %s lacks agent_id/agent_key/collector_url", state_dir / IDENTITY_FILE)
            return None

    def save(self, state_dir: Path) -> None:
        _write_json(state_dir / IDENTITY_FILE, asdict(self))

    def __repr__(self) -> str:  # keep the key out of tracebacks and logs
        return f"AgentState(agent_id={self.agent_id!r}, collector_url={self.collector_url!r})"


@dataclass
class Baseline:
    """What the collector holds for this host, as far as the agent knows: the last acknowledged
    report (the base a delta names) and the hash of every section the collector has.

    Updated only when the collector acknowledges a report, so a delta never assumes a section the
    collector did not store. ``full_at`` is when the last full report was acknowledged;
    ``created_at`` when the report named by ``report_id`` was spooled.
    """

    agent_id: str = ""
    report_id: str | None = None
    hashes: dict[str, str] = field(default_factory=dict)
    full_at: float = 0.0
    created_at: float = 0.0
    # The results the collector holds: "check_id\0target" -> ``result_digest``, for the agent modules
    # in ``results_modules`` (None: unknown, so the next delta carries every result).
    results: dict[str, str] = field(default_factory=dict)
    results_modules: list[str] | None = None

    @classmethod
    def load(cls, state_dir: Path) -> Baseline:
        data = _read_json(state_dir / BASELINE_FILE) or {}
        hashes = data.get("hashes")
        results = data.get("results")
        modules = data.get("results_modules")
        return cls(
            agent_id=str(data.get("agent_id") or ""),
            report_id=data.get("report_id") or None,
            hashes={str(k): str(v) for k, v in hashes.items()} if isinstance(hashes, dict) else {},
            full_at=float(data.get("full_at") or 0.0),
            created_at=float(data.get("created_at") or 0.0),
            results={str(k): str(v) for k, v in results.items()} if isinstance(results, dict) else {},
            results_modules=[str(m) for m in modules] if isinstance(modules, list) else None,
        )

    def save(self, state_dir: Path) -> None:
        _write_json(state_dir / BASELINE_FILE, asdict(self))

    @classmethod
    def clear(cls, state_dir: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            (state_dir / BASELINE_FILE).unlink()


@dataclass
class Status:
    """What ``wardwatch agent status`` shows besides the spool: outcomes and the schedule."""

    last_success_at: float | None = None
    last_attempt_at: float | None = None
    last_error: str | None = None
    last_error_at: float | None = None
    delivered: int = 0
    needs_full: bool = False
    # Module name -> when it last ran (epoch seconds), so a restart keeps the rhythm.
    last_run: dict[str, float] = field(default_factory=dict)
    pid: int | None = None
    # The host's name and identity from the last collection: what a heartbeat carries.
    host: dict[str, Any] = field(default_factory=dict)
    # How many quarantined reports the last heartbeat told the collector about.
    quarantine_told: int = 0

    @classmethod
    def load(cls, state_dir: Path) -> Status:
        data = _read_json(state_dir / STATUS_FILE) or {}
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        try:
            return cls(**known)
        except TypeError:
            return cls()

    def save(self, state_dir: Path) -> None:
        """Best effort: a full disk must not stop the agent because its status could not be written."""
        try:
            _write_json(state_dir / STATUS_FILE, asdict(self))
        except StateError as exc:
            log.warning("%s", exc)

    def error(self, message: str) -> None:
        self.last_error, self.last_error_at = message[:1000], time.time()

    def success(self, count: int) -> None:
        self.last_success_at = time.time()
        self.delivered += count


class RunLock:
    """One ``wardwatch agent run`` per state directory (an OS lock, released when the process dies)."""

    def __init__(self, state_dir: Path) -> None:
        self.path = ensure_state_dir(state_dir) / LOCK_FILE
        self._fh: Any = None

    def acquire(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o600)
        self._fh = os.fdopen(fd, "r+b")  # held for the life of the process
        try:
            _lock_file(self._fh)
        except OSError:
            self._fh.close()
            self._fh = None
            return False
        return True

    def release(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock_file(fh: Any) -> None:
        fh.seek(0)
        msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)

else:
    import fcntl

    def _lock_file(fh: Any) -> None:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


RESULTS_ENTRY = "@results"  # a spool item's key holding its results (never a section name)


def results_entry(digests: dict[str, str], modules: list[str]) -> str:
    return json.dumps({"digests": digests, "modules": sorted(modules)}, sort_keys=True)


def _results_entry(text: str | None) -> tuple[dict[str, str], list[str]] | None:
    if not text:
        return None
    try:
        data = json.loads(text)
        return {str(k): str(v) for k, v in data["digests"].items()}, [str(m) for m in data["modules"]]
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def update_baseline(state_dir: Path, item: Any, status: str = "accepted") -> None:
    """The collector acknowledged a spooled host report (``agent.spool.SpoolItem``): it now holds
    these sections, and this report is a base a delta may name.

    A ``duplicate`` of a report older than the baseline's changes nothing: the collector stored
    it long ago and what it holds now came later (a salvaged spool can send such a copy again).
    """
    if item.subject != "host" or item.kind not in ("full", "delta"):
        return
    b = Baseline.load(state_dir)
    if status == "duplicate" and b.report_id and item.created_at < b.created_at:
        return
    sections = dict(item.sections or {})
    # The report's complete result set travels beside its section hashes (``agent.cycle``); a spool
    # item from an older agent has none, and then the next delta carries every result.
    results = _results_entry(sections.pop(RESULTS_ENTRY, None))
    if item.kind == "full":
        b.hashes = sections
        b.full_at = time.time()
    else:
        b.hashes.update(sections)
    if results is None:
        b.results, b.results_modules = {}, None
    else:
        b.results, b.results_modules = results
    b.report_id = item.report_id
    b.created_at = item.created_at
    try:
        b.save(state_dir)
    except StateError as exc:
        log.warning("baseline not saved: %s", exc)
