"""`wardwatch up` as a user runs it: a real process, a real SQLite file, the local agent reporting."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from tests.helpers import free_port


def wait_for(predicate, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def test_up_starts_collector_and_local_agent_and_stops_cleanly(tmp_path: Path):
    port = free_port()
    data = tmp_path / "wardwatch-data"
    # As shipped: reports stored by an ingest process (the test process sets 0 for its own apps).
    env = {**os.environ, "WARDWATCH_ADMIN_PASSWORD": "first-run-password", "WARDWATCH_INGEST_PROCESSES": "1"}
    env.pop("WARDWATCH_AGENT_CONFIG", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "collector.cli", "up", "--port", str(port), "--data-dir", str(data)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:

        def healthy() -> bool:
            try:
                return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(healthy, 60, "the collector to answer")
        token = httpx.post(
            f"{base}/api/v1/auth/token", data={"username": "admin", "password": "first-run-password"}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}

        def host_arrived():  # type: ignore[no-untyped-def]
            devices = httpx.get(f"{base}/api/v1/devices", headers=headers).json()
            return next((d for d in devices if d["hostname"] == socket.gethostname()), None)

        device = wait_for(host_arrived, 90, "the local agent's first report")
        detail = httpx.get(f"{base}/api/v1/devices/{device['id']}", headers=headers).json()
        assert detail["facts"]["cpu"]["threads"] == os.cpu_count()
        assert detail["facts"]["memory"]["total_bytes"] > 0
        assert detail["site"] == "default"
        assert (data / "wardwatch.db").exists()
        children = psutil.Process(proc.pid).children(recursive=True)
        assert any("agent" in " ".join(c.cmdline()) for c in children)
        assert any("multiprocessing" in " ".join(c.cmdline()) for c in children)  # the ingest process
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "first run: log in as 'admin'" in out and "first-run-password" not in out
    assert "wardwatch stopped" in out
    # Python's multiprocessing resource tracker ends when it reads the end of its pipe, just after `up`.
    _gone, alive = psutil.wait_procs(children, timeout=10)
    assert [c for c in alive if c.status() != psutil.STATUS_ZOMBIE] == []


def test_second_start_keeps_the_admin_and_the_enrolled_agent(tmp_path: Path):
    data = tmp_path / "wardwatch-data"
    outputs = []
    for _ in range(2):
        port = free_port()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "collector.cli",
                "up",
                "--port",
                str(port),
                "--data-dir",
                str(data),
                "--no-agent",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        wait_for(lambda p=port: _ok(p), 60, "the collector")
        proc.send_signal(signal.SIGINT)
        outputs.append(proc.communicate(timeout=30)[0])
        assert proc.returncode == 0
    assert "first run" in outputs[0] and "first run" not in outputs[1]


def _ok(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def test_up_hands_the_enroll_secret_to_its_agent_outside_argv(tmp_path: Path):
    """Every user of a PC can list command lines (/proc/<pid>/cmdline); the secret must not be there."""
    from collector.commands.server import agent_commands

    enroll, run = agent_commands("http://127.0.0.1:1", tmp_path / "agent", "wwe_not-a-real-secret")
    assert enroll is not None
    assert not any("wwe_" in arg for arg in enroll[0] + run[0])
    assert enroll[1]["WARDWATCH_ENROLL_SECRET"] == "wwe_not-a-real-secret"
    assert "WARDWATCH_ENROLL_SECRET" not in run[1]

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARDWATCH_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "collector.cli", "up", "--port", str(port), "--data-dir", str(tmp_path / "d")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    seen: dict[int, str] = {}
    try:
        deadline = time.monotonic() + 120
        # Sample the process tree until the long-running agent is up: the enroll child comes and goes first.
        while time.monotonic() < deadline and not any(" agent run " in c for c in seen.values()):
            for child in psutil.Process(proc.pid).children(recursive=True):
                try:
                    raw = Path(f"/proc/{child.pid}/cmdline").read_bytes()
                except OSError:
                    continue
                if raw:  # a zombie's command line reads empty: keep what was read while it ran
                    seen[child.pid] = raw.replace(b"\0", b" ").decode(errors="replace")
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert any(" agent enroll " in c for c in seen.values()), seen
    assert any(" agent run " in c for c in seen.values()), seen
    assert not [c for c in seen.values() if "wwe_" in c or "--secret" in c]
