"""The driver contract (napalm-style) and the one exception tree every driver raises."""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from inventory.netdevices.facts import DeviceInterface, PollStage


class DeviceTarget(BaseModel):
    """Where and how to reach one device. Holds no secret: the password is passed separately."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=255)
    host: str = Field(min_length=1, max_length=255)
    port: int = Field(default=22, ge=1, le=65535)
    platform: str = "auto"
    username: str = Field(min_length=1, max_length=255)
    site: str | None = None


class Timeouts(BaseModel):
    model_config = ConfigDict(extra="forbid")

    connect: float = Field(default=10.0, gt=0)  # TCP connect, SSH banner and authentication
    command: float = Field(default=30.0, gt=0)  # one command's output


class BasicFacts(BaseModel):
    """``get_facts``: the napalm fields. ``uptime`` in seconds; unknown values stay ``None``."""

    hostname: str | None = None
    vendor: str | None = None
    model: str | None = None
    os_version: str | None = None
    serial_number: str | None = None
    uptime: int | None = None
    interface_list: list[str] = Field(default_factory=list)


# ---- errors -------------------------------------------------------------------------------------


class DeviceError(Exception):
    """Base of every polling error; ``stage`` says where the poll stopped."""

    stage: ClassVar[PollStage] = "command"

    def __init__(self, message: str, *, command: str | None = None) -> None:
        super().__init__(message)
        self.command = command


class DetectError(DeviceError):
    stage = "detect"


class ConnectError(DeviceError):
    stage = "connect"


class AuthError(DeviceError):
    stage = "auth"


class HostKeyChanged(DeviceError):
    """The device presents a key other than the one recorded on first use: refused, not connected."""

    stage = "hostkey"


class CommandError(DeviceError):
    stage = "command"


class CommandTimeout(CommandError):
    pass


class ConnectionDropped(CommandError):
    pass


class ForbiddenCommand(CommandError):
    """A command outside the platform's read-only allow-list: never sent."""


# ---- the contract -------------------------------------------------------------------------------


class DeviceDriver(ABC):
    """One device session. Read-only: ``run`` refuses anything but the platform's show/print commands.

    Use as a context manager: ``with driver_class(p)(target, password, ...) as d: d.get_facts()``.
    Every method raises only ``DeviceError`` subclasses.
    """

    platform: ClassVar[str]
    vendor: ClassVar[str]

    @abstractmethod
    def open(self) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def run(self, command: str) -> str:
        """Output of one read-only command (the raw text, prompt and echo removed)."""

    @abstractmethod
    def get_facts(self) -> BasicFacts: ...

    @abstractmethod
    def get_interfaces(self) -> list[DeviceInterface]: ...

    @abstractmethod
    def get_config(self) -> str:
        """The running configuration as the device prints it: NOT scrubbed, keep it in memory only."""

    @property
    @abstractmethod
    def outputs(self) -> dict[str, str]:
        """Every command's raw output so far (unscrubbed), for troubleshooting."""

    @property
    @abstractmethod
    def host_key_fingerprint(self) -> str | None: ...

    @property
    @abstractmethod
    def parse_warnings(self) -> list[str]: ...

    def __enter__(self) -> DeviceDriver:
        self.open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
