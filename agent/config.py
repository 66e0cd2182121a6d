"""Agent configuration: a TOML file plus ``WARDWATCH_AGENT_*`` environment variables.

Per-OS defaults: the config file at /etc/wardwatch/agent.toml (Linux) or
%ProgramData%\\wardwatch\\agent.toml (Windows); the state directory (agent key, spool) at
/var/lib/wardwatch-agent when running as root (the systemd unit), else ~/.local/state/wardwatch-agent,
and %ProgramData%\\wardwatch\\state on Windows.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from agent.certs.config import CertsConfig
from agent.devices.config import DevicesConfig
from agent.lan.config import LanConfig


def default_config_path() -> Path:
    if sys.platform == "win32":
        return Path(os.environ.get("PROGRAMDATA", r"C:\ProgramData")) / "wardwatch" / "agent.toml"
    return Path("/etc/wardwatch/agent.toml")


def default_state_dir() -> Path:
    if sys.platform == "win32":
        return Path(os.environ.get("PROGRAMDATA", r"C:\ProgramData")) / "wardwatch" / "state"
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/var/lib/wardwatch-agent")
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "wardwatch-agent"


class Intervals(BaseModel):
    """Seconds between runs of each module; ``splay`` spreads a fleet's agents over time."""

    heartbeat: int = Field(default=300, ge=10)
    inventory: int = Field(default=3600, ge=60)
    full_report: int = Field(default=86400, ge=300)
    checks: int = Field(default=3600, ge=60)
    splay: int = Field(default=120, ge=0)


class AgentSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="WARDWATCH_AGENT_", env_nested_delimiter="__", extra="ignore"
    )

    collector_url: str | None = None
    enroll_secret: str | None = None
    state_dir: Path = Field(default_factory=default_state_dir)
    # TLS to the collector: verification is on; a private CA bundle or a pinned certificate may be given.
    ca_bundle: Path | None = None
    pinned_cert_sha256: str | None = None
    intervals: Intervals = Field(default_factory=Intervals)
    certs: CertsConfig = Field(default_factory=CertsConfig)
    lan: LanConfig = Field(default_factory=LanConfig)
    devices: DevicesConfig = Field(default_factory=DevicesConfig)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = _CONFIG_PATH.get("path")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path is not None and path.exists():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


_CONFIG_PATH: dict[str, Path | None] = {}


def load_settings(config_path: Path | None = None, **overrides: Any) -> AgentSettings:
    """Settings from ``config_path`` (or the per-OS default), the environment, then ``overrides``."""
    path = config_path or default_config_path()
    if config_path is not None and not config_path.exists():
        raise FileNotFoundError(f"agent config file not found: {config_path}")
    _CONFIG_PATH["path"] = path
    try:
        return AgentSettings(**{k: v for k, v in overrides.items() if v is not None})
    finally:
        _CONFIG_PATH.pop("path", None)
