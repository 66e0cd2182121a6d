"""Huawei VRP: an interactive CLI driven by netmiko; ntc-templates parse ``display`` commands."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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

PLATFORM = "huawei_vrp"
VENDOR = "Huawei"
FACT_COMMANDS = ("display version", "display esn", "display interface brief")
CONFIG_COMMAND = "display current-configuration"
WELL_KNOWN_COMMUNITIES = frozenset({"public", "private", "huawei", "community", "admin"})

_READ_ONLY = re.compile(r"^(display \S.*|screen-length 0 temporary)$")


def is_read_only(command: str) -> bool:
    return bool(_READ_ONLY.match(command.strip()))


def config_command(facts: BasicFacts) -> str:
    return CONFIG_COMMAND


def parse_facts(outputs: Mapping[str, str], config: str | None = None) -> tuple[BasicFacts, list[str]]:
    warnings: list[str] = []
    facts = BasicFacts(vendor=VENDOR)
    version = _records_of("display version", outputs, warnings)
    if version:
        product = first(version, "product_version") or ""
        release = re.search(r"V\d{3}R\d{3}\S*", product)
        facts.os_version = release.group(0) if release else first(version, "vrp_version")
        facts.model = first(version, "model")
        facts.uptime = uptime_seconds(first(version, "uptime"))
    esn = outputs.get("display esn") or ""
    m = re.search(r"ESN of (?:slot \S+|device|master)\s*:\s*(\S+)", esn, re.I)
    if m:
        facts.serial_number = m.group(1)
    elif esn.strip():
        warnings.append("'display esn': no serial number recognised")
    if config:
        m = re.search(r"^\s*sysname (\S+)", config, re.M)
        facts.hostname = m.group(1) if m else None
    facts.interface_list = [i.name for i in parse_interfaces(outputs, config)]
    return facts, warnings


def parse_interfaces(outputs: Mapping[str, str], config: str | None = None) -> list[DeviceInterface]:
    out = []
    for rec in _records_of("display interface brief", outputs, []):
        phy = rec.get("phy", "")
        out.append(
            DeviceInterface(
                name=re.sub(r"\(\d+G\)$", "", rec["interface"]),  # "GE4/0/4(10G)": the port runs at 10G
                enabled=not phy.startswith("*"),  # "*down": administratively down
                up=phy == "up" and rec.get("protocol", "").startswith("up"),
                kind="loopback" if rec["interface"].lower().startswith(("loopback", "null")) else None,
            )
        )
    return out


# ---- scrubbing ----------------------------------------------------------------------------------

R = _scrub.REMOVED
_RULES = [
    (re.compile(r"(snmp-agent community (?:read|write) )(?!cipher |simple )(\S+)"), rf"\1{R}"),
    (re.compile(r"(\b(?:cipher|irreversible-cipher|simple)[ \t]+)(?!<removed>)(\S+)"), rf"\1{R}"),
    (
        re.compile(
            r"(\b(?:password|shared-key|pre-shared-key|authentication-key|key)[ \t]+)"
            r"(?!cipher|irreversible|simple|<removed>)(\S+)"
        ),
        rf"\1{R}",
    ),
    (re.compile(r"^!Last configuration was .*\n?", re.M), ""),
]


def scrub(config: str) -> str:
    return _scrub.finish(_scrub.apply(config, _RULES))


# ---- audit --------------------------------------------------------------------------------------


def _blocks(config: str) -> list[tuple[str, list[str]]]:
    """Top-level commands with their children. VRP indents global commands by one space after a
    ``#`` separator ("#\\n sysname X"), so a ``#`` closes the current block."""
    blocks: list[tuple[str, list[str]]] = []
    open_block = False
    for raw in config.splitlines():
        line = raw.strip()
        if not line or raw.startswith("!"):
            continue
        if line in ("#", "return"):
            open_block = False
            continue
        if raw[0] in " \t" and open_block and blocks:
            blocks[-1][1].append(line)
        else:
            blocks.append((line, []))
            open_block = raw[0] not in " \t"
    return blocks


@dataclass(frozen=True)
class _Config:
    blocks: list[tuple[str, list[str]]]
    top: list[str]  # the top-level lines
    every: list[str]  # every line, top-level first, then the blocks' bodies
    ui: list[tuple[str, list[str]]]  # user-interface blocks: ("vty 0 4", body)

    @classmethod
    def parse(cls, config: str) -> _Config:
        blocks = _blocks(config)
        top = [h for h, _ in blocks]
        ui = [(h[len("user-interface ") :], b) for h, b in blocks if h.startswith("user-interface ")]
        return cls(blocks, top, top + [x for _, body in blocks for x in body], ui)

    @property
    def vty(self) -> list[list[str]]:
        return [b for n, b in self.ui if n.startswith("vty")]


def _services_and_banner(c: _Config, a: ConfigAudit) -> None:
    inbound_telnet = any(any(re.match(r"protocol inbound (all|telnet)", x) for x in b) for b in c.vty)
    a.telnet_enabled = "telnet server enable" in c.top or (
        inbound_telnet and "undo telnet server enable" not in c.top
    )
    a.ssh_v1_enabled = "ssh server compatible-ssh1x enable" in c.top
    a.http_enabled = "http server enable" in c.top and "undo http server enable" not in c.top
    a.login_banner = any(h.startswith(("header login", "header shell")) for h in c.top)


def _snmp(c: _Config, a: ConfigAudit) -> None:
    for line in c.every:
        m = re.match(r"snmp-agent community (read|write) (cipher |simple )?(\S+)(.*)$", line)
        if m:
            kind, enc, name, rest = m.groups()
            # A "cipher" name is encrypted: whether it is "public" cannot be told from here.
            known = enc != "cipher " and name.lower() in WELL_KNOWN_COMMUNITIES
            a.snmp_communities.append(
                SnmpCommunity(
                    access="rw" if kind == "write" else "ro",
                    well_known=known,
                    restricted=" acl " in f" {rest} ",
                )
            )
    versions = next((line for line in c.top if line.startswith("snmp-agent sys-info version")), "")
    a.snmp_v3 = "v3" in versions or any(line.startswith("snmp-agent usm-user v3") for line in c.top)
    a.snmp_enabled = "snmp-agent" in c.top or bool(a.snmp_communities)


_STORAGE: dict[str, PasswordStorage] = {
    "irreversible-cipher": "hashed",
    "cipher": "reversible",
    "simple": "plaintext",
}


def _local_users(c: _Config, a: ConfigAudit) -> None:
    users: dict[str, DeviceUser] = {}
    for line in c.every:
        m = re.match(r"local-user (\S+) (.*)$", line)
        if not m:
            continue
        name, rest = m.groups()
        user = users.setdefault(name, DeviceUser(name=name))
        pm = re.match(r"password (irreversible-cipher|cipher|simple)", rest)
        if pm:
            user.password_storage = _STORAGE[pm.group(1)]
            if pm.group(1) != "irreversible-cipher":
                a.reversible_passwords.append(f"local-user {name} (password {pm.group(1)})")
        lm = re.match(r"privilege level (\d+)", rest)
        if lm:
            user.privilege = lm.group(1)
    a.users = list(users.values())


def _super_passwords(c: _Config, a: ConfigAudit) -> None:
    for line in c.every:
        if re.match(r"(super password|set authentication password) (cipher|simple) ", line):
            a.reversible_passwords.append(line.split(" cipher")[0].split(" simple")[0])


def _user_interfaces(c: _Config, a: ConfigAudit) -> None:
    a.aaa_enabled = bool(c.vty) and all("authentication-mode aaa" in b for b in c.vty)
    for name, body in c.ui:
        if "authentication-mode none" in body:
            a.lines_without_login.append(name)
        for x in body:
            m = re.match(r"idle-timeout (\d+)(?: (\d+))?", x)
            if m:
                a.idle_timeouts.append(
                    LineTimeout(line=name, seconds=int(m.group(1)) * 60 + int(m.group(2) or 0))
                )
    a.management_acl = (
        all(any(re.match(r"acl (ipv6 )?\S+ inbound", x) for x in b) for b in c.vty) if c.vty else None
    )


def _ntp_and_syslog(c: _Config, a: ConfigAudit) -> None:
    a.ntp_servers = [
        m.group(1) for line in c.top if (m := re.match(r"ntp-service unicast-server (?:ipv6 )?(\S+)", line))
    ]
    a.syslog_hosts = [
        m.group(1) for line in c.top if (m := re.match(r"info-center loghost (?:ipv6 )?(\S+)", line))
    ]


def _file_services(c: _Config, a: ConfigAudit) -> None:
    services = []
    if "ftp server enable" in c.top:
        services.append("ftp")
    if any(line.startswith("tftp-server") for line in c.top):
        services.append("tftp")
    a.enabled_services = services


AUDIT_RULES = (
    _services_and_banner,
    _snmp,
    _local_users,
    _super_passwords,
    _user_interfaces,
    _ntp_and_syslog,
    _file_services,
)


def audit(config: str, outputs: Mapping[str, str] | None = None) -> ConfigAudit:
    return run_rules(_Config.parse(config), AUDIT_RULES)


def _records_of(command: str, outputs: Mapping[str, str], warnings: list[str]) -> list[dict[str, Any]]:
    return records(PLATFORM, command, outputs, warnings)
