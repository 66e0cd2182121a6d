"""Cisco IOS / IOS-XE: an interactive CLI driven by netmiko; ntc-templates parse its show commands."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from inventory.netdevices import scrub as _scrub
from inventory.netdevices.audit import run_rules
from inventory.netdevices.contract import BasicFacts
from inventory.netdevices.facts import (
    ConfigAudit,
    DeviceInterface,
    DeviceUser,
    LineTimeout,
    PasswordStorage,
    SnmpCommunity,
)
from inventory.netdevices.text import first, records, uptime_seconds

PLATFORM = "cisco_ios"
VENDOR = "Cisco"
FACT_COMMANDS = ("show version", "show inventory", "show ip interface brief")
CONFIG_COMMAND = "show running-config"


def config_command(facts: BasicFacts) -> str:
    return CONFIG_COMMAND


WELL_KNOWN_COMMUNITIES = frozenset({"public", "private", "cisco", "community", "secret", "admin"})

_READ_ONLY = re.compile(r"^(show \S.*|terminal (length|width) \d+)$")


def is_read_only(command: str) -> bool:
    return bool(_READ_ONLY.match(command.strip())) and "|" not in command.replace("| include", "")


# ---- facts --------------------------------------------------------------------------------------


def parse_facts(outputs: Mapping[str, str], config: str | None = None) -> tuple[BasicFacts, list[str]]:
    warnings: list[str] = []
    facts = BasicFacts(vendor=VENDOR)
    version = _records_of("show version", outputs, warnings)
    if version:
        facts.hostname = first(version, "hostname")
        facts.os_version = first(version, "version")
        facts.model = first(version, "hardware")
        facts.serial_number = first(version, "serial")
        facts.uptime = uptime_seconds(first(version, "uptime"))
    inventory = _records_of("show inventory", outputs, warnings)
    if inventory:
        chassis = inventory[0]
        facts.serial_number = facts.serial_number or chassis.get("sn") or None
        facts.model = facts.model or chassis.get("pid") or None
    facts.interface_list = [i.name for i in parse_interfaces(outputs, config)]
    if not facts.hostname and config:
        m = re.search(r"^hostname (\S+)", config, re.M)
        facts.hostname = m.group(1) if m else None
    return facts, warnings


def parse_interfaces(outputs: Mapping[str, str], config: str | None = None) -> list[DeviceInterface]:
    records = _records_of("show ip interface brief", outputs, [])
    out = []
    for rec in records:
        status = rec.get("status", "")
        ip = rec.get("ip_address", "")
        out.append(
            DeviceInterface(
                name=rec["interface"],
                enabled=None if status == "deleted" else "administratively" not in status,
                up=rec.get("proto") == "up",
                ipv4=[ip] if re.match(r"^\d+\.\d+\.\d+\.\d+$", ip) else [],
                kind="loopback" if rec["interface"].lower().startswith("loopback") else None,
            )
        )
    return out


# ---- scrubbing ----------------------------------------------------------------------------------

R = _scrub.REMOVED
_RULES = [
    # snmp-server host H [vrf V] [informs|traps] [version 1|2c] COMMUNITY (v3 names a user, not a secret)
    (
        re.compile(
            r"^(snmp-server host \S+(?: vrf \S+)?(?: (?:informs|traps))?(?: version (?:1|2c))? )"
            r"(?!version |informs |traps )(\S+)",
            re.M,
        ),
        rf"\1{R}",
    ),
    (re.compile(r"^(snmp-server community )(\S+)", re.M), rf"\1{R}"),
    (re.compile(r"(\bwpa-psk (?:ascii|hex)(?: \d)? )(\S+)"), rf"\1{R}"),
    (re.compile(r"(\bmd5(?: \d)? )(\S+)"), rf"\1{R}"),
    (re.compile(r"(\bcrypto isakmp key(?: \d)? )(\S+)"), rf"\1{R}"),
    # password/secret/key words followed by an optional encryption type digit, then the secret
    (
        re.compile(
            r"(\b(?:password|secret|key|key-string|server-key|authentication-key|pre-shared-key)"
            r"(?: (?:level \d+ )?\d{1,2})? )"
            r"(?!<removed>)(?!\d{1,2} <removed>)(\S+)"
        ),
        rf"\1{R}",
    ),
    # "ntp clock-period" changes on its own every few minutes: not configuration, drop it
    (re.compile(r"^ntp clock-period .*\n?", re.M), ""),
    (re.compile(r"^! (?:NVRAM config last updated|Last configuration change) at .*\n?", re.M), ""),
    (re.compile(r"^Current configuration : \d+ bytes\n?", re.M), ""),
]


def scrub(config: str) -> str:
    return _scrub.finish(_scrub.apply(config, _RULES))


# ---- audit --------------------------------------------------------------------------------------


def _blocks(config: str) -> list[tuple[str, list[str]]]:
    """Top-level lines with their indented children."""
    blocks: list[tuple[str, list[str]]] = []
    for raw in config.splitlines():
        if not raw.strip() or raw.startswith("!"):
            continue
        if raw[0] in " \t" and blocks:
            blocks[-1][1].append(raw.strip())
        else:
            blocks.append((raw.strip(), []))
    return blocks


@dataclass(frozen=True)
class _Config:
    blocks: list[tuple[str, list[str]]]  # top-level lines with their indented children
    top: list[str]  # the top-level lines

    @classmethod
    def parse(cls, config: str) -> _Config:
        blocks = _blocks(config)
        return cls(blocks, [head for head, _ in blocks])

    def has(self, prefix: str) -> bool:
        return any(line.startswith(prefix) for line in self.top)

    def lines(self) -> list[tuple[str, list[str]]]:
        """``line con 0``, ``line vty 0 4`` ...: the line's name and its body."""
        return [(head[len("line ") :], body) for head, body in self.blocks if head.startswith("line ")]


def _global_switches(c: _Config, a: ConfigAudit) -> None:
    a.aaa_enabled = "aaa new-model" in c.top
    a.password_encryption_service = "service password-encryption" in c.top
    a.ssh_v1_enabled = "ip ssh version 2" not in c.top
    a.http_enabled = "ip http server" in c.top
    a.login_banner = c.has("banner login") or c.has("banner motd")


def _enable_passwords(c: _Config, a: ConfigAudit) -> None:
    a.enable_password = a.enable_secret = False
    for line in c.top:
        m = re.match(r"enable (password|secret)(?: level \d+)?(?: (\d))? \S+", line)
        if not m:
            continue
        if m.group(1) == "secret":
            a.enable_secret = True
            continue
        a.enable_password = True
        if m.group(2) in (None, "0", "7"):
            a.reversible_passwords.append(f"enable password (type {m.group(2) or '0'})")


def _password_storage(name: str, rest: str, a: ConfigAudit) -> PasswordStorage:
    pw = re.search(r"\b(password|secret)(?: (\d))? \S+", rest)
    if "nopassword" in rest:
        return "none"
    if pw and pw.group(1) == "secret":
        return "hashed"
    if pw:
        kind = pw.group(2) or "0"
        a.reversible_passwords.append(f"username {name} (type {kind})")
        return "reversible" if kind == "7" else "plaintext"
    return "unknown"


def _local_users(c: _Config, a: ConfigAudit) -> None:
    for line in c.top:
        m = re.match(r"username (\S+)(.*)$", line)
        if not m:
            continue
        name, rest = m.groups()
        priv = re.search(r"privilege (\d+)", rest)
        storage = _password_storage(name, rest, a)
        a.users.append(
            DeviceUser(name=name, privilege=priv.group(1) if priv else "1", password_storage=storage)
        )


def _community(name: str, rest: str) -> SnmpCommunity:
    tokens = rest.split()
    if tokens[:1] == ["view"]:
        tokens = tokens[2:]
    access: Literal["ro", "rw"] = "rw" if tokens[:1] == ["RW"] else "ro"
    acl = tokens[1:] if tokens[:1] in (["RO"], ["RW"]) else tokens
    acl = [t for t in acl if t not in ("ipv6",)]
    return SnmpCommunity(
        access=access, well_known=name.lower() in WELL_KNOWN_COMMUNITIES, restricted=bool(acl)
    )


def _snmp(c: _Config, a: ConfigAudit) -> None:
    for line in c.top:
        m = re.match(r"snmp-server community (\S+)(.*)$", line)
        if m:
            a.snmp_communities.append(_community(*m.groups()))
    a.snmp_v3 = any(re.match(r"snmp-server (group \S+ v3|user \S+ \S+ v3)", line) for line in c.top)
    a.snmp_enabled = bool(a.snmp_communities) or a.snmp_v3


def _vty_access(c: _Config, a: ConfigAudit) -> None:
    vty = [body for name, body in c.lines() if name.startswith("vty")]
    if not vty:
        a.telnet_enabled = a.management_acl = None
        return
    telnet = False
    for body in vty:
        ti = next((x for x in body if x.startswith("transport input")), None)
        # No "transport input": older releases default to "all", telnet included.
        if ti is None or "telnet" in ti or ti.endswith(" all"):
            telnet = True
    a.telnet_enabled = telnet
    a.management_acl = all(any(x.startswith("access-class ") for x in body) for body in vty)


def _line_timeouts_and_passwords(c: _Config, a: ConfigAudit) -> None:
    for name, body in c.lines():
        for x in body:
            m = re.match(r"exec-timeout (\d+)(?: (\d+))?", x)
            if m:
                a.idle_timeouts.append(
                    LineTimeout(line=name, seconds=int(m.group(1)) * 60 + int(m.group(2) or 0))
                )
            m = re.match(r"password(?: (\d))? \S+", x)
            if m and m.group(1) in (None, "0", "7"):
                a.reversible_passwords.append(f"line {name} password (type {m.group(1) or '0'})")


def _lines_without_login(c: _Config, a: ConfigAudit) -> None:
    if a.aaa_enabled:
        return  # AAA authenticates every line
    for name, body in c.lines():
        login = [x for x in body if x == "login" or x.startswith("login ") or x == "no login"]
        # A console/aux line without "login" is open; a vty with "login" and no password refuses logins.
        if "no login" in login or (not login and name.startswith(("con", "aux"))):
            a.lines_without_login.append(name)


def _ntp_and_syslog(c: _Config, a: ConfigAudit) -> None:
    a.ntp_servers = [
        m.group(1) for line in c.top if (m := re.match(r"s?ntp server (?:vrf \S+ )?(\S+)", line))
    ]
    a.syslog_hosts = [
        m.group(1)
        for line in c.top
        if (
            m := re.match(
                r"logging (?:host )?(?:ipv6 )?(?:vrf \S+ )?(\d[\d.:]*|[a-fA-F0-9:]+:[a-fA-F0-9:]*)", line
            )
        )
    ]


def _legacy_services(c: _Config, a: ConfigAudit) -> None:
    services = []
    if "no service pad" not in c.top:
        services.append("pad")
    if "no ip bootp server" not in c.top:
        services.append("bootp")
    for svc, word in (
        ("tcp-small-servers", "service tcp-small-servers"),
        ("udp-small-servers", "service udp-small-servers"),
        ("finger", "ip finger"),
        ("finger", "service finger"),
    ):
        if word in c.top and svc not in services:
            services.append(svc)
    a.enabled_services = services


AUDIT_RULES = (
    _global_switches,
    _enable_passwords,
    _local_users,
    _snmp,
    _vty_access,
    _line_timeouts_and_passwords,
    _lines_without_login,
    _ntp_and_syslog,
    _legacy_services,
)


def audit(config: str, outputs: Mapping[str, str] | None = None) -> ConfigAudit:
    return run_rules(_Config.parse(config), AUDIT_RULES)


def _records_of(command: str, outputs: Mapping[str, str], warnings: list[str]) -> list[dict[str, Any]]:
    return records(PLATFORM, command, outputs, warnings)
