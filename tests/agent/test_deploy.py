"""The shipped service unit and example configuration say what the docs promise."""

from __future__ import annotations

import tomllib
from pathlib import Path

from agent.config import AgentSettings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _unit() -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for line in (DEPLOY / "wardwatch-agent.service").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "[")) and "=" in line:
            key, _, value = line.partition("=")
            values.setdefault(key, []).append(value)
    return values


def test_unit_runs_as_a_dedicated_user_with_only_the_network_capabilities() -> None:
    unit = _unit()
    assert unit["User"] == ["wardwatch"] and unit["Group"] == ["wardwatch"]
    assert unit["AmbientCapabilities"] == ["CAP_NET_RAW CAP_NET_ADMIN"]
    assert unit["CapabilityBoundingSet"] == ["CAP_NET_RAW CAP_NET_ADMIN"]
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "PrivateTmp": "yes",
        "ProtectKernelModules": "yes",
        "StateDirectoryMode": "0700",
        "UMask": "0077",
        "KillSignal": "SIGTERM",
    }.items():
        assert unit[key] == [value], key
    assert "agent run" in unit["ExecStart"][0]


def test_example_config_is_valid_and_matches_the_defaults() -> None:
    data = tomllib.loads((DEPLOY / "agent.example.toml").read_text())
    settings = AgentSettings(**data)
    defaults = AgentSettings()
    assert settings.intervals == defaults.intervals
    assert settings.spool == defaults.spool and settings.delivery == defaults.delivery
    assert settings.intervals.heartbeat == 300 and settings.spool.max_bytes == 200 * 1024 * 1024
