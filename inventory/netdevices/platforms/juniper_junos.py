"""Juniper Junos: commands over paramiko exec channels; ntc-templates where they parse, small parsers
where a release prints a format the template does not know (e.g. the short ``show version``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from inventory.netdevices import scrub as _scrub
from inventory.netdevices.audit import run_rules
from inventory.netdevices.contract import BasicFacts
from inventory.netdevices.facts import ConfigAudit, DeviceInterface, DeviceUser, LineTimeout, SnmpCommunity
from inventory.netdevices.text import first, textfsm

PLATFORM = "juniper_junos"
VENDOR = "Juniper"
FACT_COMMANDS = ("show version", "show chassis hardware", "show system uptime", "show interfaces terse")
CONFIG_COMMAND = "show configuration | display omit"
WELL_KNOWN_COMMUNITIES = frozenset({"public", "private", "juniper", "community"})

_READ_ONLY = re.compile(r"^show (?!.*\|\s*(save|load|commit))\S.*$")


def is_read_only(command: str) -> bool:
    return bool(_READ_ONLY.match(command.strip()))


def config_command(facts: BasicFacts) -> str:
    return CONFIG_COMMAND


def _records(command: str, outputs: Mapping[str, str], warnings: list[str]) -> list[dict[str, Any]]:
    text = outputs.get(command)
    if not text:
        return []
    try:
        return textfsm(PLATFORM, command, text)
    except (LookupError, ValueError):
        # Newer releases print formats the template does not know: the small parsers below take over,
        # and a warning is raised only if they find nothing either.
        return []


def _field(text: str, label: str) -> str | None:
    m = re.search(rf"^{label}:\s*(.+?)\s*$", text, re.M)
    return m.group(1) if m else None


def _chassis_row(text: str) -> tuple[str | None, str | None]:
    """Serial and description of the ``Chassis`` row, located by the header's column offsets."""
    lines = text.splitlines()
    header = next((ln for ln in lines if ln.startswith("Item") and "Serial number" in ln), None)
    row = next((ln for ln in lines if ln.startswith("Chassis")), None)
    if not header or not row:
        return None, None
    start = header.index("Serial number")
    desc = header.index("Description") if "Description" in header else len(row)
    serial = row[start:desc].strip() or None
    return serial, row[desc:].strip() or None


def _uptime(text: str) -> int | None:
    fmt = "%Y-%m-%d %H:%M:%S"
    now = re.search(r"Current time:\s*(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", text)
    boot = re.search(r"System booted:\s*(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", text)
    if not now or not boot:
        return None
    return int((datetime.strptime(now.group(1), fmt) - datetime.strptime(boot.group(1), fmt)).total_seconds())


def parse_facts(outputs: Mapping[str, str], config: str | None = None) -> tuple[BasicFacts, list[str]]:
    warnings: list[str] = []
    facts = BasicFacts(vendor=VENDOR)
    text = outputs.get("show version") or ""
    version = _records("show version", outputs, warnings)
    facts.hostname = first(version, "hostname") or _field(text, "Hostname")
    facts.model = first(version, "model") or _field(text, "Model")
    facts.os_version = first(version, "junos_version") or _field(text, "Junos")
    if not facts.os_version:
        m = re.search(r"JUNOS \S+ (?:Software )?(?:Release|Suite) \[([^\]]+)\]", text)
        facts.os_version = m.group(1) if m else None
    if text and not (facts.model or facts.os_version):
        warnings.append("'show version': no model or release recognised")
    hw_text = outputs.get("show chassis hardware") or ""
    hardware = _records("show chassis hardware", outputs, warnings)
    serial = first(hardware, "chassis_serial_number")
    if not serial and hw_text:
        serial, _ = _chassis_row(hw_text)
    facts.serial_number = serial
    if hw_text and not serial:
        warnings.append("'show chassis hardware': no chassis serial number recognised")
    facts.uptime = _uptime(outputs.get("show system uptime") or "")
    if not facts.hostname and config:
        m = re.search(r"^\s*host-name (\S+);", config, re.M)
        facts.hostname = m.group(1) if m else None
    facts.interface_list = [i.name for i in parse_interfaces(outputs, config)]
    return facts, warnings


def parse_interfaces(outputs: Mapping[str, str], config: str | None = None) -> list[DeviceInterface]:
    """``show interfaces terse``: Interface, Admin, Link, Proto, Local, Remote (physical rows only)."""
    out: dict[str, DeviceInterface] = {}
    current: DeviceInterface | None = None
    for line in (outputs.get("show interfaces terse") or "").splitlines():
        m = re.match(r"^(\S+)\s+(up|down)\s+(up|down)(?:\s+(\S+)\s+(\S+))?", line)
        if m:
            name, admin, link, proto, local = m.groups()
            phys = name.split(".")[0]
            iface = out.get(phys)
            if iface is None:
                iface = out[phys] = DeviceInterface(name=phys, enabled=admin == "up", up=link == "up")
            current = iface
            if proto == "inet" and local and "/" in local:
                iface.ipv4.append(local)
            continue
        m = re.match(r"^\s+(?:(inet)\s+)?(\d+\.\d+\.\d+\.\d+/\d+)", line)
        if m and current is not None:
            current.ipv4.append(m.group(2))
    return list(out.values())


# ---- scrubbing ----------------------------------------------------------------------------------

R = _scrub.REMOVED
_RULES = [
    # Junos marks every secret it prints; whatever value precedes the ";" on such a line goes.
    (re.compile(r'("[^"]*"|[^\s;"]+)(;\s*## SECRET-DATA)'), rf'"{R}"\2'),
    (
        re.compile(
            r"(\b(?:encrypted-password|secret|authentication-key|password|"
            r"pre-shared-key (?:ascii-text|hexadecimal)|simple-password|md5 \d+ key)[ \t]+)"
            r"(?!\"<removed>\")(\"[^\"]*\"|[^\s;]+)"
        ),
        rf'\1"{R}"',
    ),
    (re.compile(r"^(\s*community )(\"[^\"]*\"|[^\s;{]+)", re.M), rf"\1{R}"),
]


def scrub(config: str) -> str:
    return _scrub.finish(_scrub.apply(config, _RULES))


# ---- audit --------------------------------------------------------------------------------------


def statements(config: str) -> list[str]:
    """Every statement with its full path: "system services ssh protocol-version v2"."""
    stack: list[str] = []
    out = []
    for raw in config.splitlines():
        line = re.sub(r"\s*(##.*|/\*.*\*/)$", "", raw).strip()
        if not line or line.startswith("#"):
            continue
        line = re.sub(r"^(inactive|protect): ", "", line)
        if line.endswith("{"):
            stack.append(line[:-1].strip())
            out.append(" ".join(stack))
        elif line == "}":
            if stack:
                stack.pop()
        else:
            out.append(" ".join([*stack, line.rstrip(";").strip()]))
    return out


@dataclass(frozen=True)
class _Config:
    st: list[str]  # every statement with its full path (``statements``)

    def has(self, prefix: str) -> bool:
        return any(s == prefix or s.startswith(prefix + " ") for s in self.st)

    def matches(self, pattern: str) -> list[re.Match[str]]:
        return [m for s in self.st if (m := re.match(pattern, s))]


def _services_and_banner(c: _Config, a: ConfigAudit) -> None:
    a.telnet_enabled = c.has("system services telnet")
    a.ssh_v1_enabled = bool(c.matches(r"system services ssh protocol-version .*\bv1\b"))
    a.http_enabled = c.has("system services web-management http")
    a.login_banner = c.has("system login message") or c.has("system login announcement")


def _snmp(c: _Config, a: ConfigAudit) -> None:
    # A community's statements are spread over several lines: gather them by name first.
    communities: dict[str, dict[str, bool]] = {}
    for m in c.matches(r"snmp community (\"[^\"]*\"|\S+)(?: (.*))?$"):
        found = communities.setdefault(m.group(1).strip('"'), {"rw": False, "restricted": False})
        rest = m.group(2) or ""
        if rest.startswith("authorization read-write"):
            found["rw"] = True
        if rest.startswith(("clients", "client-list-name")):
            found["restricted"] = True
    a.snmp_communities = [
        SnmpCommunity(
            access="rw" if f["rw"] else "ro",
            well_known=n.lower() in WELL_KNOWN_COMMUNITIES,
            restricted=f["restricted"],
        )
        for n, f in communities.items()
    ]
    a.snmp_v3 = c.has("snmp v3")
    a.snmp_enabled = c.has("snmp")


def _local_users(c: _Config, a: ConfigAudit) -> None:
    users: dict[str, DeviceUser] = {}
    for m in c.matches(r"system login user (\S+)(?: (.*))?$"):
        name, rest = m.group(1), m.group(2) or ""
        user = users.setdefault(name, DeviceUser(name=name, password_storage="none"))
        if rest.startswith("class "):
            user.privilege = rest.split()[1]
        if rest.startswith("authentication encrypted-password"):
            user.password_storage = "hashed"
        elif rest.startswith("authentication ssh-"):
            user.password_storage = "hashed" if user.password_storage == "hashed" else "none"
    a.users = list(users.values())


def _management_access(c: _Config, a: ConfigAudit) -> None:
    a.aaa_enabled = None
    a.management_acl = bool(c.matches(r"interfaces lo0 unit \d+ family inet filter input"))
    timeouts = [
        LineTimeout(line=f"class {m.group(1)}", seconds=int(m.group(2)) * 60)
        for m in c.matches(r"system login class (\S+) idle-timeout (\d+)")
    ]
    # Junos never logs an idle session out unless a login class says so.
    a.idle_timeouts = timeouts or [LineTimeout(line="system login (no idle-timeout)", seconds=0)]


def _ntp_syslog_and_services(c: _Config, a: ConfigAudit) -> None:
    a.ntp_servers = [m.group(1) for m in c.matches(r"system ntp server (\S+)$")]
    a.syslog_hosts = sorted({m.group(1) for m in c.matches(r"system syslog host (\S+)")})
    a.enabled_services = [
        svc for svc in ("ftp", "finger", "xnm-clear-text", "rest http") if c.has(f"system services {svc}")
    ]


AUDIT_RULES = (_services_and_banner, _snmp, _local_users, _management_access, _ntp_syslog_and_services)


def audit(config: str, outputs: Mapping[str, str] | None = None) -> ConfigAudit:
    return run_rules(_Config(statements(config)), AUDIT_RULES)
