"""Scan results kept in the agent's state directory, so the next report carries them.

``<state_dir>/lan/latest.json`` holds the last scan (LanScanFacts); ``gateways.json`` the gateway
MAC last seen for each gateway IP, which the next scan compares with.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from inventory.lan import LanScanFacts


def lan_dir(state_dir: Path) -> Path:
    return Path(state_dir) / "lan"


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_scan(state_dir: Path, facts: LanScanFacts) -> Path:
    d = lan_dir(state_dir)
    path = d / "latest.json"
    _write_atomic(path, facts.model_dump_json(indent=1))
    if facts.gateway_ip and facts.gateway_mac:
        gws = previous_gateway_macs(state_dir)
        gws[facts.gateway_ip] = facts.gateway_mac
        _write_atomic(d / "gateways.json", json.dumps(gws, indent=1, sort_keys=True))
    return path


def latest_scan(state_dir: Path) -> LanScanFacts | None:
    """The last scan saved in ``state_dir``, or None when none ran (or the file is unreadable)."""
    path = lan_dir(state_dir) / "latest.json"
    try:
        return LanScanFacts.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def previous_gateway_macs(state_dir: Path) -> dict[str, str]:
    try:
        data = json.loads((lan_dir(state_dir) / "gateways.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
