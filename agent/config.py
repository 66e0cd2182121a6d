"""Agent configuration: a TOML file plus ``WARDWATCH_AGENT_*`` environment variables.

Per-OS defaults: the config file at /etc/wardwatch/agent.toml (Linux) or
%ProgramData%\\wardwatch\\agent.toml (Windows); the state directory (agent key, spool) at
/var/lib/wardwatch-agent when running as root (the systemd unit), else ~/.local/state/wardwatch-agent,
and %ProgramData%\\wardwatch\\state on Windows.
"""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, ValidationError, create_model, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from agent.capabilities import CAPABILITIES


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
    """Seconds between runs of each module; ``splay`` spreads a fleet's agents over time.

    The lower bounds are low so that tests and a technician's bench can run fast cycles; the
    defaults are what a commune PC runs.
    """

    heartbeat: int = Field(default=300, ge=1)
    inventory: int = Field(default=3600, ge=1)
    # A full report (every section in full) at least this often; deltas in between.
    full_report: int = Field(default=86400, ge=1)
    checks: int = Field(default=3600, ge=1)
    # Each module's next run is shifted by a random 0..splay seconds (never more than a tenth of
    # its interval), so that a fleet restarted together does not report together.
    splay: int = Field(default=120, ge=0)
    # Network devices are polled this often when a [devices] table configures them.
    devices: int = Field(default=3600, ge=1)
    # Certificates (stores, files, TLS endpoints, signed documents) when [certs] is enabled: expiry
    # and revocation move in days, and the scan loads the PKI libraries, so daily is enough.
    certs: int = Field(default=86400, ge=1)


class SpoolConfig(BaseModel):
    """The durable outbox (``spool.db`` in the state directory)."""

    max_bytes: int = Field(default=200 * 1024 * 1024, ge=64 * 1024)
    max_age_days: float = Field(default=14, gt=0)


class DeliveryConfig(BaseModel):
    """How reports travel to the collector."""

    connect_timeout: float = Field(default=10.0, gt=0)
    read_timeout: float = Field(default=60.0, gt=0)
    # Exponential backoff with full jitter: a wait drawn from 0..min(cap, base * 2**failures).
    backoff_base: float = Field(default=5.0, gt=0)
    backoff_cap: float = Field(default=900.0, gt=0)
    # A Retry-After longer than this is shortened to it (a misconfigured proxy must not park us for days).
    retry_after_max: float = Field(default=3600.0, gt=0)
    # Reports sent per flush over one keep-alive connection before the loop looks at its schedule.
    batch_size: int = Field(default=100, ge=1)
    # ``run --once``: this many delivery attempts (with backoff) before giving up and exiting.
    once_attempts: int = Field(default=3, ge=1)


class CoreSettings(BaseSettings):
    """The agent's own settings; ``AgentSettings`` adds one table per capability."""

    model_config = SettingsConfigDict(
        env_prefix="WARDWATCH_AGENT_", env_nested_delimiter="__", extra="ignore"
    )

    collector_url: str | None = None
    enroll_secret: str | None = None
    state_dir: Path = Field(default_factory=default_state_dir)
    # TLS to the collector: verification is on; a private CA bundle or a pinned certificate may be given.
    # A pin is the SHA-256 of the collector's certificate (DER), hex with or without colons; with a pin
    # and no CA bundle the pin alone authenticates the collector (a self-signed certificate works).
    ca_bundle: Path | None = None
    pinned_cert_sha256: str | None = None

    intervals: Intervals = Field(default_factory=Intervals)
    spool: SpoolConfig = Field(default_factory=SpoolConfig)
    delivery: DeliveryConfig = Field(default_factory=DeliveryConfig)
    log_level: str = "INFO"

    @field_validator("pinned_cert_sha256")
    @classmethod
    def _pin(cls, v: str | None) -> str | None:
        if not v:
            return None
        pin = v.replace(":", "").replace(" ", "").lower()
        if len(pin) != 64 or any(c not in "0123456789abcdef" for c in pin):
            raise ValueError("pinned_cert_sha256 must be 64 hex digits (the SHA-256 of the certificate)")
        return pin

    @field_validator("collector_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if not v:
            return None
        if not v.startswith(("http://", "https://")):
            raise ValueError(f"collector_url {v!r} must start with https:// (or http:// on a trusted LAN)")
        return v.rstrip("/")

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


def _with_capabilities() -> type[CoreSettings]:
    """``CoreSettings`` plus each capability's table (``[certificates]``, ``[lan]``, ...), from the
    registry, and a hidden field per old table name (``[certs]``, ``[devices]``) folded into it."""
    tables: dict[str, Any] = {
        cap.section: (cap.config(), Field(default_factory=cap.config())) for cap in CAPABILITIES
    }
    for cap in CAPABILITIES:
        for old in cap.section_aliases:
            # Read from the file and the environment like any table; never dumped (the worker's
            # input carries the folded table under its new name only).
            tables[old] = (cap.config() | None, Field(default=None, exclude=True))
    validators: dict[str, Any] = {"_fold_old_sections": model_validator(mode="after")(_fold_old_sections)}
    return create_model(
        "AgentSettings", __base__=CoreSettings, __module__=__name__, __validators__=validators, **tables
    )


def _fold_old_sections(settings: Any) -> Any:
    """A table given under its old name (``[devices]``) becomes the new one (``[netdevices]``); a key
    given under both names takes the new name's value."""
    for cap in CAPABILITIES:
        for old in cap.section_aliases:
            legacy = getattr(settings, old, None)
            if legacy is None:
                continue
            current = getattr(settings, cap.section)
            setattr(settings, cap.section, legacy.model_copy(update=current.model_dump(exclude_unset=True)))
            setattr(settings, old, None)
    return settings


if TYPE_CHECKING:
    # For the type checker the capability tables are not attributes: code reads its table through
    # its declaration, typed (``LAN.config_of(settings)``).
    AgentSettings = CoreSettings
else:
    AgentSettings = _with_capabilities()

_CONFIG_PATH: dict[str, Path | None] = {}


class ConfigError(ValueError):
    """The agent configuration (file or environment) is not valid; the message says where and what."""


def load_settings(config_path: Path | None = None, **overrides: Any) -> AgentSettings:
    """Settings from ``config_path`` (or the per-OS default), the environment, then ``overrides``."""
    path = config_path or default_config_path()
    if config_path is not None and not config_path.exists():
        raise FileNotFoundError(f"agent config file not found: {config_path}")
    _CONFIG_PATH["path"] = path
    where = f"{path} or WARDWATCH_AGENT_* variables" if path.exists() else "WARDWATCH_AGENT_* variables"
    try:
        return AgentSettings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        raise ConfigError(f"agent configuration ({where}) is not valid: {problems}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"agent config file {path} is not valid TOML: {exc}") from None
    finally:
        _CONFIG_PATH.pop("path", None)
