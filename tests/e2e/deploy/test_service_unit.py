"""The collector's systemd unit: a dedicated user, hardening, and `systemd-analyze verify` passes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
UNIT = DEPLOY / "wardwatch-collector.service"


def _values() -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    text = UNIT.read_text().replace("\\\n", " ")
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "[")) and "=" in line:
            key, _, value = line.partition("=")
            values.setdefault(key, []).append(value)
    return values


def test_unit_runs_unprivileged_behind_the_proxy_with_private_state() -> None:
    unit = _values()
    assert unit["User"] == ["wardwatch-collector"] and unit["Group"] == ["wardwatch-collector"]
    assert unit["CapabilityBoundingSet"] == [""] and unit["NoNewPrivileges"] == ["yes"]
    for key, value in {
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "StateDirectoryMode": "0700",
        "UMask": "0077",
    }.items():
        assert unit[key] == [value], key
    start = " ".join(unit["ExecStart"][0].split())
    assert "serve --host 127.0.0.1" in start and "--forwarded-allow-ips 127.0.0.1" in start
    assert "--data-dir /var/lib/wardwatch-collector" in start


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    # verify wants ExecStart's program to exist: point it at this installation's `wardwatch`.
    wardwatch = Path(sys.executable).with_name("wardwatch")
    assert wardwatch.exists()
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace("/usr/local/bin/wardwatch", str(wardwatch)))
    done = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    problems = [line for line in done.stderr.splitlines() if UNIT.name in line or "wardwatch" in line]
    assert done.returncode == 0 and problems == [], done.stderr
