"""The shipped service unit and example configuration say what the docs promise."""

from __future__ import annotations

import tomllib
from pathlib import Path

from agent.config import AgentSettings

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"


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


def test_capability_sections_are_documented_key_by_key() -> None:
    """Every key of [certificates], [lan] and [netdevices] is in docs/agent.md and in the example file; the
    example's values are the defaults."""
    import re

    from agent.certificates.config import CertificatesConfig
    from agent.lan.config import LanConfig
    from agent.netdevices.config import NetDevicesConfig

    docs = (DEPLOY.parent / "docs" / "agent.md").read_text()
    example = (DEPLOY / "agent.example.toml").read_text()
    data = tomllib.loads(example)
    settings = AgentSettings(**data)
    for section, model in (
        ("certificates", CertificatesConfig),
        ("lan", LanConfig),
        ("netdevices", NetDevicesConfig),
    ):
        assert f"### `[{section}]`" in docs, section
        table = example.split(f"\n[{section}]", 1)[1].split("\n[", 1)[0]
        for key in model.model_fields:
            assert f"| `{key}` |" in docs, f"docs/agent.md lacks [{section}] {key}"
            assert re.search(rf"^#? ?{key} = ", table, re.M), f"agent.example.toml lacks [{section}] {key}"
        assert getattr(settings, section) == model(), f"the example's [{section}] is not the defaults"


def test_the_readme_says_where_the_command_is() -> None:
    readme = (DEPLOY.parent / "README.md").read_text()
    assert ".venv/bin/wardwatch" in readme and ". .venv/bin/activate" in readme
    assert "not on the system `PATH`" in readme
