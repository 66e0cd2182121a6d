"""What the agent tests share: a real collector in its own process, agent settings, small reports.

``live_collector`` runs uvicorn on ``collector.app:create_app`` in a subprocess, on a free port,
over a migrated SQLite file seeded with a site and an enroll secret (the fixture: conftest.py). Tests
stop it, SIGKILL it and start it again on the same port and database, and count what landed in ``rawreport``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

# One process per test session imports the collector (1-2 s of CPU, 7-10 s on the busy machine) and
# forks a fresh collector for each start: every test still gets its own process, database and port,
# started as the real one is (create_app + uvicorn), with the collector's own password hashing cost.
FORKSERVER_SCRIPT = """
ROOT = __ROOT__
import json, os, signal, sys
import uvicorn
from collector.app import create_app
from collector.plugins import import_all
from collector.settings import CollectorSettings
import collector.scheduler, collector.services.jobs, collector.web.errors  # what create_app imports late
for package in ("collector.api.routers", "collector.web.routes", "collector.ingest_hooks"):
    import_all(package)
# Each route's FastAPI state built here once, inherited by every fork (tests/route_state.py): a path no
# route answers walks them all. An app without its lifespan: nothing starts, nothing is stored.
sys.path.insert(0, ROOT)
from tests.route_state import share_route_state
share_route_state()
import tempfile, warnings
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # httpx through starlette.testclient
    from fastapi.testclient import TestClient
with tempfile.TemporaryDirectory() as tmp:
    warm = create_app(CollectorSettings(database_url="sqlite:///" + tmp + "/warm.db", data_dir=tmp))
    TestClient(warm, raise_server_exceptions=False).get("/no-such-page/warm")
    warm.state.engine.dispose()
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the collectors when they exit
print("ready", flush=True)
for line in sys.stdin:
    database_url, data_dir, port, log_path = json.loads(line)
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            os.setsid()
            log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
            os.dup2(log, 1)
            os.dup2(log, 2)
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            settings = CollectorSettings(database_url=database_url, data_dir=data_dir)
            uvicorn.run(create_app(settings), host="127.0.0.1", port=int(port), log_level="warning")
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            import traceback
            traceback.print_exc()
            code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    print(pid, flush=True)
""".replace("__ROOT__", repr(str(Path(__file__).resolve().parents[2])))


class Forkserver:
    """The session's collector-forking process (``FORKSERVER_SCRIPT``); ``fork`` gives a running child."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", FORKSERVER_SCRIPT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={k: v for k, v in os.environ.items() if not k.startswith("WARDWATCH_")},
        )
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "ready"

    def fork(self, database_url: str, data_dir: Path, port: int, log_path: Path) -> Forked:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps([database_url, str(data_dir), port, str(log_path)]) + "\n")
        self.proc.stdin.flush()
        return Forked(int(self.proc.stdout.readline()))

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


class Forked:
    """A forked collector, handled like a ``subprocess.Popen`` (it is the forkserver's child, not ours)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def poll(self) -> int | None:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return -1  # exited (and reaped by the forkserver)
        return None

    def send_signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def wait(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"collector {self.pid}", timeout)
            time.sleep(0.02)
        return -1


@dataclass
class LiveCollector:
    db_path: Path
    data_dir: Path
    port: int
    secret: str
    log_path: Path
    forkserver: Forkserver
    proc: Forked | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.db_path}"

    def start(self, timeout: float = 30.0) -> None:
        assert self.proc is None or self.proc.poll() is not None, "collector already running"
        self.proc = self.forkserver.fork(self.database_url, self.data_dir, self.port, self.log_path)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"collector exited: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"collector did not start in {timeout}s: {self.log_path.read_text()[-2000:]}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)

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
