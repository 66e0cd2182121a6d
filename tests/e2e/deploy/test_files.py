"""Files private by default: `wardwatch up` under umask 022 leaves nothing readable by other users,
and a start with loosened modes warns (data) or refuses (keys)."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import httpx

from tests.e2e.deploy.support import wait_until
from tests.helpers import free_port


def _up(data: Path, *extra: str) -> subprocess.Popen[str]:
    port = free_port()
    env = {**os.environ, "WARDWATCH_ADMIN_PASSWORD": "first-run-password"}
    cmd = [sys.executable, "-m", "collector.cli", "up", "--port", str(port), "--data-dir", str(data), *extra]
    # The shell's usual umask: without care, files would come out 0644 and directories 0755.
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, umask=0o022
    )
    proc.port = port  # type: ignore[attr-defined]
    return proc


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_up_under_umask_022_keeps_every_file_private(tmp_path: Path) -> None:
    data = tmp_path / "wardwatch-data"
    proc = _up(data)
    base = f"http://127.0.0.1:{proc.port}"  # type: ignore[attr-defined]
    try:

        def ok() -> bool:
            try:
                return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(ok, 60, "the collector")
        # A key made on first use (the publishing key) and the agent's first report (WAL written).
        assert httpx.get(f"{base}/.well-known/wardwatch-publishing-key.pem").status_code == 200
        token = httpx.post(
            f"{base}/api/v1/auth/token", data={"username": "admin", "password": "first-run-password"}
        ).json()["access_token"]
        wait_until(
            lambda: httpx.get(f"{base}/api/v1/devices", headers={"Authorization": f"Bearer {token}"}).json(),
            90,
            "the local agent's first report",
        )
        assert (data / "wardwatch.db-wal").exists()
        opened = []
        for path in [data, *data.rglob("*")]:
            if path.is_symlink() or path.name.endswith(".sock"):
                continue
            if stat.S_IMODE(path.stat().st_mode) & 0o077:
                opened.append(f"{path.relative_to(tmp_path)} {_mode(path):03o}")
        # Public halves may be readable (a CA certificate, the agent's copy of it); nothing else.
        opened = [o for o in opened if not o.split()[0].endswith(("-cert.pem", "agent-ca.pem"))]
        assert opened == []
        assert _mode(data) == 0o700
        for name in ("wardwatch.db", "wardwatch.db-wal", "wardwatch.db-shm"):
            assert _mode(data / name) == 0o600, name
        assert _mode(data / "keys" / "publishing-ed25519.pem") == 0o600
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)


def test_loosened_data_warns_and_a_loosened_key_refuses_the_start(tmp_path: Path) -> None:
    data = tmp_path / "wardwatch-data"
    proc = _up(data, "--no-agent")
    wait_until(lambda: _ok(proc), 60, "the collector")
    port = proc.port  # type: ignore[attr-defined]
    assert httpx.get(f"http://127.0.0.1:{port}/.well-known/wardwatch-publishing-key.pem").status_code == 200
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)

    (data / "wardwatch.db").chmod(0o644)
    data.chmod(0o755)
    proc = _up(data, "--no-agent")
    wait_until(lambda: _ok(proc), 60, "the collector")
    proc.send_signal(signal.SIGTERM)
    out = proc.communicate(timeout=30)[0]
    assert f"warning: {data / 'wardwatch.db'} is open to other users (mode 644); fix: chmod 600" in out
    assert f"warning: {data} is open to other users (mode 755); fix: chmod 700 {data}" in out

    (data / "keys" / "publishing-ed25519.pem").chmod(0o644)
    proc = _up(data, "--no-agent")
    out = proc.communicate(timeout=60)[0]
    assert proc.returncode == 2
    assert "publishing-ed25519.pem holds a secret key and is open to other users" in out
    assert "can be read by other users" in out


def _ok(proc: subprocess.Popen[str]) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{proc.port}/healthz", timeout=2).status_code == 200  # type: ignore[attr-defined]
    except httpx.TransportError:
        return False
