"""Network device polling: the device list file, the credential store, concurrency and timeouts.

The agent's TOML has a ``[netdevices]`` table, e.g.::

    [netdevices]
    devices_file = "/etc/wardwatch/devices.toml"
    credential_store = "/var/lib/wardwatch-agent/devices.cred"   # default: in the state directory
    key_file = "/etc/wardwatch/devices.key"                       # 0600; or the env var named by key_env
    concurrency = 20
    connect_timeout = 10
    command_timeout = 30

and the device list file holds one ``[[devices]]`` table per device::

    [[devices]]
    name = "xa-a-router"
    host = "192.168.1.1"
    port = 22
    platform = "auto"          # auto or one of inventory.netdevices.facts.PLATFORMS (cisco_ios, ...)
    site = "XA-A"
    username = "wardwatch"
    password_env = "XA_A_ROUTER_PASSWORD"   # or: credential = "xa-a-router" (an encrypted store entry)
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from inventory.netdevices.facts import PlatformChoice

KNOWN_HOSTS_FILE = "devices_known_hosts"
CREDENTIAL_STORE_FILE = "devices.cred"
KEY_FILE = "devices.key"


class NetDevicesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    devices_file: Path | None = None
    credential_store: Path | None = None  # default: <state_dir>/devices.cred
    key_file: Path | None = None  # default: <state_dir>/devices.key
    key_env: str = "WARDWATCH_DEVICES_KEY"  # takes precedence over key_file when set
    known_hosts: Path | None = None  # default: <state_dir>/devices_known_hosts
    concurrency: int = Field(default=20, ge=1, le=200)
    connect_timeout: float = Field(default=10.0, gt=0, le=300)
    command_timeout: float = Field(default=30.0, gt=0, le=600)
    # `wardwatch agent run` polls the devices_file list this often; unset: [intervals] devices (1 h).
    interval_seconds: int | None = Field(default=None, ge=300)

    def store_path(self, state_dir: Path) -> Path:
        return self.credential_store or state_dir / CREDENTIAL_STORE_FILE

    def key_path(self, state_dir: Path) -> Path:
        return self.key_file or state_dir / KEY_FILE

    def known_hosts_path(self, state_dir: Path) -> Path:
        return self.known_hosts or state_dir / KNOWN_HOSTS_FILE


class DeviceEntry(BaseModel):
    """One ``[[devices]]`` table. The password is only ever referenced, never written here."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=255)
    host: str = Field(min_length=1, max_length=255)
    port: int = Field(default=22, ge=1, le=65535)
    platform: PlatformChoice = "auto"
    site: str | None = None
    username: str = Field(min_length=1, max_length=255)
    password_env: str | None = None
    credential: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_inline_password(cls, data: object) -> object:
        if isinstance(data, dict) and "password" in data:
            raise ValueError(
                "a plain 'password' is not accepted in the device list; use password_env or credential"
            )
        return data

    @model_validator(mode="after")
    def _one_source(self) -> DeviceEntry:
        if bool(self.password_env) == bool(self.credential):
            raise ValueError("give exactly one of password_env or credential")
        return self


class DeviceListError(ValueError):
    """The device list file is missing or wrong; the message names the file and the entry."""


def load_device_list(path: Path) -> list[DeviceEntry]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DeviceListError(f"device list file not found: {path}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise DeviceListError(f"{path}: cannot read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise DeviceListError(f"{path}: not valid TOML: {exc}") from exc
    unknown = sorted(set(data) - {"devices"})
    if unknown:
        raise DeviceListError(f"{path}: unknown top-level key(s) {', '.join(unknown)}; expected [[devices]]")
    raw = data.get("devices", [])
    if not isinstance(raw, list):
        raise DeviceListError(f"{path}: 'devices' must be an array of tables ([[devices]])")
    entries: list[DeviceEntry] = []
    seen: set[str] = set()
    for i, item in enumerate(raw, start=1):
        label = f"{path}: device #{i}" + (
            f" ({item.get('name')})" if isinstance(item, dict) and item.get("name") else ""
        )
        try:
            entry = DeviceEntry.model_validate(item)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'entry'}: {e['msg']}" for e in exc.errors()
            )
            raise DeviceListError(f"{label}: {problems}") from None
        if entry.name in seen:
            raise DeviceListError(f"{label}: duplicate device name {entry.name!r}")
        seen.add(entry.name)
        entries.append(entry)
    return entries
