"""Fakes at the system edge: recorded-output stand-ins for powershell, smartctl and dpkg-query on PATH."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

HOST_FIXTURES = Path(__file__).parents[1] / "fixtures" / "host"
SYS_TREES = HOST_FIXTURES / "sys"
SMART_DIR = HOST_FIXTURES / "smart"
WINDOWS_DIR = HOST_FIXTURES / "windows"

# Replays tests/fixtures/host/windows/<scenario>/<query>.json for the queries named in the script
# it is given (decoded from -EncodedCommand), like the real script's output; logs each run.
_FAKE_POWERSHELL = r"""
import base64, json, os, re, sys
args = sys.argv[1:]
script = base64.b64decode(args[args.index("-EncodedCommand") + 1]).decode("utf-16-le")
names = re.findall(r"\$r\['(\w+)'\] = @\(", script)
with open(os.environ["WW_PS_LOG"], "a") as log:
    log.write(" ".join(names) + "\n")
out = {}
for name in names:
    path = os.path.join(os.environ["WW_PS_RECORDED"], name + ".json")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as fh:
            out[name] = json.load(fh)
    else:
        out[name] = {"__error": "Invalid class " + repr(name)}
sys.stdout.buffer.write(json.dumps(out, ensure_ascii=False).encode("utf-8"))
"""

# Prints a recorded smartctl JSON and exits with the exit status smartctl recorded in it.
_FAKE_SMARTCTL = r"""
import json, os, sys
with open(os.environ["WW_SMART_FILE"], encoding="utf-8") as fh:
    text = fh.read()
sys.stdout.write(text)
sys.exit(json.loads(text).get("smartctl", {}).get("exit_status", 0))
"""


def _write_tool(bin_dir: Path, name: str, body: str) -> None:
    script = bin_dir / name
    script.write_text(f"#!{sys.executable}\n{body}")
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


@pytest.fixture
def fake_bin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], Path]:
    """Put a Python script named ``name`` first on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")

    def add(name: str, body: str) -> Path:
        _write_tool(bin_dir, name, body)
        return bin_dir / name

    return add


@pytest.fixture
def recorded_windows(
    fake_bin: Callable[[str, str], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[[str], Path]:
    """Select a recorded Windows scenario; returns the log of PowerShell runs (one line per run)."""
    log = tmp_path / "powershell.log"
    log.write_text("")
    monkeypatch.setenv("WW_PS_LOG", str(log))
    fake_bin("powershell", _FAKE_POWERSHELL)

    def use(scenario: str) -> Path:
        monkeypatch.setenv("WW_PS_RECORDED", str(WINDOWS_DIR / scenario))
        return log

    return use


@pytest.fixture
def recorded_smartctl(
    fake_bin: Callable[[str, str], Path], monkeypatch: pytest.MonkeyPatch
) -> Callable[[str], None]:
    fake_bin("smartctl", _FAKE_SMARTCTL)

    def use(fixture: str) -> None:
        monkeypatch.setenv("WW_SMART_FILE", str(SMART_DIR / fixture))

    return use
