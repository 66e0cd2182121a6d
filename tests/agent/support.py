"""What the agent tests share: a real collector in its own process, agent settings, small reports.

``live_collector`` runs uvicorn on ``collector.app:create_app`` in a subprocess, on a free port,
over a migrated SQLite file seeded with a site and an enroll secret (the fixture: conftest.py). Tests
stop it, SIGKILL it and start it again on the same port and database, and count what landed in ``rawreport``.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

SERVER_SCRIPT = """
import sys
import uvicorn
from collector.app import create_app
from collector.settings import CollectorSettings

settings = CollectorSettings(database_url=sys.argv[1], data_dir=sys.argv[2])
uvicorn.run(create_app(settings), host="127.0.0.1", port=int(sys.argv[3]), log_level="warning")
"""


@dataclass
class LiveCollector:
    db_path: Path
    data_dir: Path
    port: int
    secret: str
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    _log: object = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.db_path}"

    def start(self, timeout: float = 30.0) -> None:
        assert self.proc is None or self.proc.poll() is not None, "collector already running"
        log = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop)
        self._log = log
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SERVER_SCRIPT, self.database_url, str(self.data_dir), str(self.port)],
            stdout=log,
            stderr=log,
            env={k: v for k, v in os.environ.items() if not k.startswith("WARDWATCH_")},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"collector exited: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"collector did not start in {timeout}s: {self.log_path.read_text()[-2000:]}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log is not None:
            self._log.close()  # type: ignore[attr-defined]
            self._log = None

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def _query(self, sql: str) -> list[tuple[object, ...]]:
        db = sqlite3.connect(self.db_path, timeout=30)
        try:
            return db.execute(sql).fetchall()
        finally:
            db.close()

    def report_count(self) -> int:
        return int(self._query("SELECT count(*) FROM rawreport")[0][0])

    def report_ids(self) -> list[str]:
        return [str(r[0]) for r in self._query("SELECT report_id FROM rawreport ORDER BY id")]

    def kinds(self) -> list[str]:
        """Kinds of the stored reports: heartbeats leave no row (they move ``agent_seen``)."""
        return [str(r[0]) for r in self._query("SELECT kind FROM rawreport ORDER BY id")]

    def agent_seen(self) -> str | None:
        """When the collector last heard from an agent (heartbeats included), as stored text."""
        rows = self._query("SELECT max(last_seen_at) FROM agent")
        return str(rows[0][0]) if rows and rows[0][0] is not None else None

    def heard_after_last_report(self) -> bool:
        """Whether something (a heartbeat) arrived after the newest stored report."""
        rows = self._query("SELECT max(received_at) FROM rawreport")
        seen = self.agent_seen()
        return seen is not None and rows[0][0] is not None and seen > str(rows[0][0])


def fill_disk(directory: Path) -> Path:
    """Fill the file system of ``directory`` to the last byte; the filler file, to delete for room."""
    filler = directory / "filler"
    with open(filler, "wb", buffering=0) as fh:  # unbuffered: nothing left to fail again on close
        for size in (65536, 4096, 512, 1):
            try:
                while True:
                    fh.write(b"\0" * size)
            except OSError:
                pass
    return filler


def agent_settings(state_dir: Path, **kw: object):  # type: ignore[no-untyped-def]
    from agent.config import AgentSettings

    base: dict[str, object] = {
        "state_dir": state_dir,
        "delivery": {"connect_timeout": 2, "read_timeout": 5, "backoff_base": 0.05, "backoff_cap": 0.2},
        "intervals": {"splay": 0},
    }
    base.update(kw)
    return AgentSettings(**base)


def small_report(
    agent_id: str = "", *, hostname: str = "pc-01", kind: str = "heartbeat"
) -> tuple[str, bytes]:
    """A valid, small report (a heartbeat by default) and its id."""
    from inventory.report import HostIdentity, Report, ReportKind, Subject, utcnow

    report = Report(
        agent_id=agent_id,
        collected_at=utcnow(),
        kind=ReportKind(kind),
        subject=Subject(
            hostname=hostname, host=HostIdentity(machine_id=uuid.uuid5(uuid.NAMESPACE_DNS, hostname).hex)
        ),
    )
    return str(report.report_id), report.model_dump_json(exclude_none=True).encode()


def agent_env(state_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARDWATCH_")}
    env.update(
        {
            "WARDWATCH_AGENT_STATE_DIR": str(state_dir),
            "WARDWATCH_AGENT_DELIVERY__CONNECT_TIMEOUT": "2",
            "WARDWATCH_AGENT_DELIVERY__READ_TIMEOUT": "10",
            "WARDWATCH_AGENT_DELIVERY__BACKOFF_BASE": "0.1",
            "WARDWATCH_AGENT_DELIVERY__BACKOFF_CAP": "0.5",
            "WARDWATCH_AGENT_INTERVALS__SPLAY": "0",
        }
    )
    env.update(extra)
    return env


def wardwatch(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "collector.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
