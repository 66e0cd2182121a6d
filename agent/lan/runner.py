"""Runs a LAN scan from the agent: safety checks here, the packets in a child process.

The child (``python -m agent.lan.child``) loads scapy and exits when done, so the agent's resident
memory stays where it was. Results are saved in the state directory (``agent.lan.store``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.lan.config import LanConfig
from agent.lan.safety import ScanRefused, resolve_targets
from agent.lan.store import latest_scan, previous_gateway_macs, save_scan
from inventory.lan import LanScanFacts

OnEvent = Callable[[dict[str, Any]], None]


class ScanFailed(RuntimeError):
    """The scan's child process failed; the message carries its reason."""


def run_scan(
    config: LanConfig,
    state_dir: Path | None,
    *,
    interface: str | None = None,
    cidr: str | None = None,
    on_event: OnEvent | None = None,
    save: bool = True,
) -> LanScanFacts:
    """Scan now. Raises ScanRefused (a safety rule) or ScanFailed (the child's error)."""
    targets = resolve_targets(config, interface=interface, cidr=cidr)
    if not targets:
        raise ScanRefused("nothing to scan: no IPv4 subnet found")
    request = {
        "config": config.model_dump(mode="json"),
        "targets": [t.to_dict() for t in targets],
        "previous_gateway_macs": previous_gateway_macs(state_dir) if state_dir else {},
    }
    facts = _run_child(request, timeout=config.max_seconds, on_event=on_event)
    if save and state_dir is not None:
        save_scan(state_dir, facts)
    return facts


def _run_child(request: dict[str, Any], *, timeout: float, on_event: OnEvent | None) -> LanScanFacts:
    env = dict(os.environ)
    # The child must import this very package, also from a source checkout.
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent.lan.child"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps(request))
        proc.stdin.close()
        for line in proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("type") == "result":
                result = event
            elif event.get("type") == "error":
                error = event
            elif on_event is not None:
                on_event(event)
        stderr = proc.stderr.read() if proc.stderr else ""
        rc = proc.wait()
    finally:
        timer.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if error is not None:
        if error.get("kind") == "refused":
            raise ScanRefused(error.get("message", "refused"))
        raise ScanFailed(error.get("message", "scan failed"))
    if result is None:
        tail = stderr.strip().splitlines()[-3:]
        why = "timed out" if rc == -9 else f"exited with {rc}"
        raise ScanFailed(f"scan process {why}: {' | '.join(tail)}")
    return LanScanFacts.model_validate(result["facts"])


def scan_due(config: LanConfig, state_dir: Path, now: datetime | None = None) -> bool:
    """For the agent cycle: True when scheduled scans are on and the last one is older than the interval."""
    if not config.interval_seconds:
        return False
    last = latest_scan(state_dir)
    if last is None or last.finished_at is None:
        return True
    now = now or datetime.now(UTC)
    return (now - last.finished_at).total_seconds() >= config.interval_seconds
