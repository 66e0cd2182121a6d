"""A polled network device: facts, interfaces and its scrubbed running configuration.

Filled in by ``inventory.netdevices`` (one SSH poll of one router, switch or Wi-Fi controller) and judged
by ``checks.evaluators.netdevices``. Nothing in this section ever holds a secret: the configuration is
scrubbed before it is put here, and ``audit`` carries only what the agent concluded from the raw
configuration (e.g. "an SNMP community with a well-known name exists"), never the secret itself.
Every field has a default so that older agents, which omit newer fields, still validate.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field

from inventory.base import FactModel

# The one list of network device platforms (each has a module in inventory/netdevices/platforms). The
# agent's device list, the collector's managed device list and its API all take their names from here.
Platform = Literal["cisco_ios", "huawei_vrp", "mikrotik_routeros", "juniper_junos"]
PLATFORMS: tuple[Platform, ...] = get_args(Platform)
# What a device list may say: a platform, or "auto" (detected from the SSH banner, then the device).
PlatformChoice = Literal["auto"] | Platform
PLATFORM_CHOICES: tuple[str, ...] = ("auto", *PLATFORMS)

# How a password is kept in the configuration: plain text, reversibly encoded (IOS type 7, Junos $9$,
# VRP "cipher"), a one-way hash, or no password at all.
PasswordStorage = Literal["none", "plaintext", "reversible", "hashed", "unknown"]
PollStage = Literal["detect", "connect", "hostkey", "auth", "command", "parse", "config"]


class DeviceInterface(FactModel):
    name: str
    description: str | None = None
    enabled: bool | None = None  # administratively up
    up: bool | None = None  # line protocol / link up
    ipv4: list[str] = Field(default_factory=list)
    mac: str | None = None
    speed: str | None = None  # as the device prints it: "a-1000", "1000", "1Gbps"
    mtu: int | None = None
    kind: str | None = None  # ethernet, vlan, bridge, loopback, ...


class SnmpCommunity(FactModel):
    """An SNMP v1/v2c community. The name itself is a secret and never travels; only what it implies."""

    access: Literal["ro", "rw"] = "ro"
    well_known: bool = False  # "public", "private" or a platform default
    restricted: bool = False  # bound to an ACL or an address list


class DeviceUser(FactModel):
    name: str
    privilege: str | None = None  # "15", "3", "full", "super-user", group name
    # How the password is kept in the configuration: plain text, reversibly encoded (IOS type 7,
    # Junos $9$, VRP "cipher"), a one-way hash, or no password at all.
    password_storage: PasswordStorage = "unknown"


class LineTimeout(FactModel):
    line: str  # "vty 0 4", "console", "system login"
    seconds: int  # 0 means never


class ConfigAudit(FactModel):
    """What the raw configuration says about security, per topic. ``None``: not known for this device."""

    telnet_enabled: bool | None = None
    ssh_v1_enabled: bool | None = None
    http_enabled: bool | None = None  # plain-HTTP management
    snmp_enabled: bool | None = None
    snmp_communities: list[SnmpCommunity] = Field(default_factory=list)
    snmp_v3: bool | None = None
    reversible_passwords: list[str] = Field(default_factory=list)  # where, e.g. "username cisco (type 0)"
    password_encryption_service: bool | None = None  # IOS "service password-encryption"
    enable_password: bool | None = None  # IOS "enable password" (reversible) configured
    enable_secret: bool | None = None
    users: list[DeviceUser] = Field(default_factory=list)
    users_known: bool = False  # False: the configuration does not list local users on this platform
    aaa_enabled: bool | None = None
    lines_without_login: list[str] = Field(default_factory=list)
    management_acl: bool | None = None
    idle_timeouts: list[LineTimeout] = Field(default_factory=list)
    ntp_servers: list[str] | None = None
    syslog_hosts: list[str] | None = None
    login_banner: bool | None = None
    enabled_services: list[str] | None = None  # services running that a commune rarely needs
    dns_open_to_wan: bool | None = None


class PollError(FactModel):
    stage: PollStage
    message: str
    command: str | None = None


class NetworkDeviceFacts(FactModel):
    """napalm-style facts (hostname, vendor, model, os_version, serial_number, uptime, interface_list)
    plus interfaces, the scrubbed configuration and what went wrong while polling."""

    name: str | None = None  # the name in the device list
    platform: str | None = None
    hostname: str | None = None
    vendor: str | None = None
    model: str | None = None
    os_version: str | None = None
    serial_number: str | None = None
    uptime: int | None = None  # seconds
    interface_list: list[str] = Field(default_factory=list)
    interfaces: list[DeviceInterface] = Field(default_factory=list)
    config: str | None = None  # the running configuration, secrets scrubbed
    config_hash: str | None = None  # sha256 of ``config``
    audit: ConfigAudit | None = None
    # What each read-only command printed (scrubbed), for troubleshooting a parse; the
    # configuration command is left out (it is ``config``).
    raw_outputs: dict[str, str] = Field(default_factory=dict)
    ssh_banner: str | None = None
    host_key_fingerprint: str | None = None  # "SHA256:..." as OpenSSH prints it
    poll_errors: list[PollError] = Field(default_factory=list)
    poll_seconds: float | None = None

    @property
    def reachable(self) -> bool:
        """Logged in and ran commands (a failed command or parse still counts as reached)."""
        return not any(e.stage in ("detect", "connect", "hostkey", "auth") for e in self.poll_errors)
