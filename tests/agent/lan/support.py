"""What the namespace tests share: start responders, wait until they listen, run the scan command."""

from __future__ import annotations

import json
import os
import select
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.agent.lan.netlab import REPO, Node, netns_available

RESPONDERS = Path(__file__).parent / "responders"
DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"


def require_netns() -> None:
    reason = netns_available()
    if reason:
        pytest.skip(reason)


def wait_ready(proc: subprocess.Popen[str], what: str, timeout: float = 20) -> None:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    line = proc.stdout.readline() if ready else ""
    if line.strip() != "ready":
        raise RuntimeError(f"{what} did not start (exit {proc.poll()}): {line!r}")


def responder(node: Node, script: str, *args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = node.start(
        sys.executable,
        str(RESPONDERS / script),
        *args,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
    )
    wait_ready(proc, f"{script} in {node.name}")
    return proc


def dnsmasq(node: Node, workdir: Path, first: str, last: str, router: str) -> subprocess.Popen[str]:
    """A real DHCP server (Debian's dnsmasq) inside ``node``; DNS off."""
    if not Path(DNSMASQ).exists():
        pytest.skip("dnsmasq is not installed")
    workdir.mkdir(parents=True, exist_ok=True)
    proc = node.start(
        DNSMASQ,
        "--keep-in-foreground",
        "--conf-file=/dev/null",
        "--port=0",
        "--interface=eth0",
        "--bind-interfaces",
        "--user=root",
        "--log-dhcp",
        "--log-facility=-",
        f"--dhcp-range={first},{last},255.255.255.0,1h",
        f"--dhcp-option=3,{router}",
        f"--dhcp-leasefile={workdir / 'leases'}",
        f"--pid-file={workdir / 'pid'}",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if ":67 " in node.exec("ss", "-ulnH", check=False).stdout:
            return proc
        if proc.poll() is not None:
            raise RuntimeError(f"dnsmasq exited: {proc.stderr.read() if proc.stderr else ''}")
        time.sleep(0.1)
    raise RuntimeError("dnsmasq did not bind port 67")


def write_config(path: Path, lan: dict[str, Any]) -> Path:
    lines = ["[lan]"]
    for k, v in lan.items():
        lines.append(f"{k} = {json.dumps(v) if not isinstance(v, list | dict) else _toml(v)}")
    path.write_text("\n".join(lines) + "\n")
    return path


def _toml(v: Any) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml(x)}" for k, x in v.items()) + " }"
    return json.dumps(v)


def without_net_raw() -> list[str]:
    """A prefix that runs a command with CAP_NET_RAW dropped from the bounding (so effective) set."""
    if shutil.which("capsh"):
        return ["capsh", "--drop=cap_net_raw", "--"]
    if shutil.which("setpriv"):
        return ["setpriv", "--bounding-set", "-net_raw", "--inh-caps", "-net_raw", "--"]
    pytest.skip("neither capsh nor setpriv is installed to drop CAP_NET_RAW")


def scan_cli(
    node: Node, state_dir: Path, config: Path, *args: str, unprivileged: bool = False, json_out: bool = True
) -> subprocess.CompletedProcess[str]:
    """``wardwatch agent scan`` run inside ``node``'s namespace, as an operator would."""
    cmd = [sys.executable, "-m", "collector.cli", "agent", "scan", "--state-dir", str(state_dir)]
    cmd += ["--config", str(config), *args] + (["--json"] if json_out else [])
    if unprivileged:
        prefix = without_net_raw()
        cmd = (prefix + ["-c", shlex.join(cmd)]) if prefix[0] == "capsh" else prefix + cmd
    env = dict(os.environ, PYTHONPATH=str(REPO), COLUMNS="160")
    return subprocess.run(
        ["ip", "netns", "exec", node.ns, *cmd], capture_output=True, text=True, cwd=REPO, env=env, timeout=180
    )
