"""MikroTik RouterOS: commands over paramiko exec channels; ntc-templates parse ``print`` output.

The configuration is ``/export`` (v6 shows secrets by default, v7 needs ``show-sensitive``): the agent
needs the raw values to judge them (e.g. an SNMP community named "public") and scrubs them before
anything leaves memory. ``/export`` omits defaults, so the audit knows RouterOS v6/v7 defaults.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from functools import cached_property
from typing import Any

from inventory.netdevices import scrub as _scrub
from inventory.netdevices.audit import run_rules
from inventory.netdevices.contract import BasicFacts
from inventory.netdevices.facts import ConfigAudit, DeviceInterface, DeviceUser, SnmpCommunity
from inventory.netdevices.text import first, textfsm, uptime_seconds, version_key

PLATFORM = "mikrotik_routeros"
VENDOR = "MikroTik"
FACT_COMMANDS = (
    "/system resource print",
    "/system routerboard print",
    "/system identity print",
    "/interface print terse without-paging",
    "/user print terse",
)
CONFIG_COMMAND = "/export show-sensitive"
WELL_KNOWN_COMMUNITIES = frozenset({"public", "private", "community", "mikrotik"})
# The SSH login name suffix: c = no colours, t = no terminal detection, 511w = a wide terminal
# (RouterOS wraps long lines at the terminal width).
LOGIN_SUFFIX = "+ct511w"

_READ_ONLY = re.compile(r"^/(\S+ )*(print|export)( [\w=-]+)*$")


def is_read_only(command: str) -> bool:
    cmd = command.strip()
    return bool(_READ_ONLY.match(cmd)) and not re.search(r"\b(set|add|remove|reset|reboot|shutdown)\b", cmd)


def config_command(facts: BasicFacts) -> str:
    # v6 has no "show-sensitive" (it shows secrets unless "hide-sensitive") and refuses the word.
    if facts.os_version and version_key(facts.os_version)[:1] < (7,):
        return "/export"
    return CONFIG_COMMAND


def _records(command: str, outputs: Mapping[str, str], warnings: list[str]) -> list[dict[str, Any]]:
    """ntc-templates' records; for "key: value" prints the template does not know (newer releases
    changed e.g. the build-time format), the small ``key_values`` parser takes over."""
    text = outputs.get(command)
    if not text:
        return []
    try:
        records = textfsm(PLATFORM, command, text)
    except (LookupError, ValueError) as exc:
        kv = key_values(text)
        if kv:
            return [kv]
        warnings.append(str(exc))
        return []
    if not records:
        kv = key_values(text)
        if kv:
            return [kv]
        warnings.append(f"{command!r}: nothing recognised in the output")
    return records


def key_values(text: str) -> dict[str, str]:
    """``  board-name: hEX`` lines -> {"board_name": "hEX"} (ntc's field naming)."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^\s*([a-z][a-z0-9-]*):\s(.*)$", line)
        if m:
            out[m.group(1).replace("-", "_")] = m.group(2).strip()
    return out


def parse_facts(outputs: Mapping[str, str], config: str | None = None) -> tuple[BasicFacts, list[str]]:
    warnings: list[str] = []
    facts = BasicFacts(vendor=VENDOR)
    resource = _records("/system resource print", outputs, warnings)
    if resource:
        version = first(resource, "version")
        facts.os_version = version.split()[0] if version else None
        facts.uptime = uptime_seconds(first(resource, "uptime"))
        facts.model = first(resource, "board_name")
    board = outputs.get("/system routerboard print") or ""
    if re.search(r"routerboard:\s*yes", board):
        rb = _records("/system routerboard print", outputs, warnings)
        facts.serial_number = first(rb, "serial_number")
        facts.model = first(rb, "hardware_model") or facts.model
    identity = _records("/system identity print", outputs, warnings)
    facts.hostname = first(identity, "name")
    if config and not facts.serial_number:
        m = re.search(r"^# serial number = (\S+)", config, re.M)
        facts.serial_number = m.group(1) if m else None
    facts.interface_list = [i.name for i in parse_interfaces(outputs, config)]
    return facts, warnings


def parse_interfaces(outputs: Mapping[str, str], config: str | None = None) -> list[DeviceInterface]:
    addresses: dict[str, list[str]] = {}
    for section, cmd, args in _commands(config or ""):
        if section == "/ip address" and cmd == "add" and "interface" in args and "address" in args:
            addresses.setdefault(args["interface"], []).append(args["address"])
    out = []
    for rec in _records("/interface print terse without-paging", outputs, []):
        flags = rec.get("status", "") + rec.get("dynamic", "")
        out.append(
            DeviceInterface(
                name=rec["name"],
                description=rec.get("comment") or None,
                enabled="X" not in flags,
                up="R" in flags,
                mac=(rec.get("mac_address") or "").lower() or None,
                mtu=int(rec["mtu"]) if rec.get("mtu", "").isdigit() else None,
                kind=rec.get("type") or None,
                ipv4=addresses.get(rec["name"], []),
            )
        )
    return out


def parse_users(text: str) -> list[DeviceUser]:
    """``/user print terse``: ``0   name=admin group=full address="" last-logged-in=...``."""
    users = []
    for line in text.splitlines():
        m = re.match(r"\s*\d+\s+([A-Z]*\s+)?(.*)$", line)
        if not m:
            continue
        args = _args(m.group(2))
        if "name" in args:
            users.append(
                DeviceUser(name=args["name"], privilege=args.get("group"), password_storage="hashed")
            )
    return users


# ---- export parsing -----------------------------------------------------------------------------


def _joined(config: str) -> list[str]:
    """Lines with RouterOS' "\\" continuations joined."""
    return re.sub(r"\\\n\s*", "", config.replace("\r\n", "\n")).split("\n")


def _args(text: str) -> dict[str, str]:
    try:
        tokens = shlex.split(text, posix=True)
    except ValueError:
        tokens = text.split()
    out: dict[str, str] = {}
    for tok in tokens:
        if "=" in tok:
            k, v = tok.split("=", 1)
            out[k] = v
    return out


def _commands(config: str) -> list[tuple[str, str, dict[str, str]]]:
    """(section, verb, arguments) for every command line of an export."""
    section = ""
    out = []
    for line in _joined(config):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("/"):
            section = line
            continue
        verb, _, rest = line.partition(" ")
        target = ""
        m = re.match(r"\[ find ([^\]]*) \]\s*(.*)$", rest)
        if m:
            target, rest = m.group(1), m.group(2)
        elif verb == "set" and rest and "=" not in rest.split(" ", 1)[0]:
            target, _, rest = rest.partition(" ")
        args = _args(rest)
        if target:
            args["_target"] = target
        out.append((section, verb, args))
    return out


# ---- scrubbing ----------------------------------------------------------------------------------

R = _scrub.REMOVED
_SECRET_KEYS = (
    r"password|secret|passphrase|psk|[\w-]*pre-shared-key|private-key|preshared-key|"
    r"authentication-password|encryption-password|auth-key|[\w-]*-key|key|trap-community"
)
_VALUE = r"(\"(?:[^\"\\]|\\.)*\"|\S+)"


def scrub(config: str) -> str:
    out = []
    section = ""
    for line in _joined(config):
        stripped = line.strip()
        if stripped.startswith("/"):
            section = stripped
        line = re.sub(rf"(?<![\w-])({_SECRET_KEYS})={_VALUE}", rf"\1={R}", line)
        if section == "/snmp community":
            line = re.sub(rf"(?<![\w-])name={_VALUE}", f"name={R}", line)
        out.append(line)
    text = "\n".join(out)
    text = re.sub(r"^# .*? by RouterOS", "# by RouterOS", text, flags=re.M)  # the export's own timestamp
    return _scrub.finish(_scrub.url_credentials(text))


# ---- audit --------------------------------------------------------------------------------------

_DEFAULT_SERVICES = ("telnet", "ftp", "www", "ssh", "api", "winbox", "api-ssl")


class _Config:
    """An export's commands, with what several rules read worked out once."""

    def __init__(self, config: str, outputs: Mapping[str, str] | None) -> None:
        self.cmds = _commands(config)
        self.outputs = outputs or {}

    def settings(self, section: str) -> dict[str, str]:
        """The section's own settings (``set`` without a target), merged in order."""
        merged: dict[str, str] = {}
        for sec, verb, args in self.cmds:
            if sec == section and verb == "set" and "_target" not in args:
                merged.update(args)
        return merged

    @cached_property
    def enabled_services(self) -> dict[str, dict[str, str]]:
        """/ip service: every service is on unless exported as disabled."""
        services = {name: {"disabled": "no"} for name in _DEFAULT_SERVICES}
        services["www-ssl"] = {"disabled": "yes"}
        for sec, verb, args in self.cmds:
            if sec == "/ip service" and verb == "set":
                name = re.sub(r"^name=", "", args.get("_target", ""))
                services.setdefault(name, {"disabled": "no"}).update(args)
        return {n: s for n, s in services.items() if s.get("disabled", "no") != "yes"}

    @cached_property
    def input_filters(self) -> list[dict[str, str]]:
        return [args for sec, verb, args in self.cmds if sec == "/ip firewall filter" and verb == "add"]

    @cached_property
    def wan_input_dropped(self) -> bool:
        """A filter drops whatever comes in from the WAN side (a whole-protocol rule, not one port)."""
        return any(
            f.get("chain") == "input"
            and f.get("action") in ("drop", "reject")
            and (
                f.get("in-interface-list") in ("!LAN", "WAN")
                or f.get("in-interface", "").startswith(("ether1", "pppoe"))
            )
            and not f.get("protocol")
            for f in self.input_filters
        )


def _management_services(c: _Config, a: ConfigAudit) -> None:
    enabled = c.enabled_services
    a.telnet_enabled = "telnet" in enabled
    a.http_enabled = "www" in enabled
    restricted = all(s.get("address") not in (None, "", "0.0.0.0/0") for s in enabled.values())
    a.management_acl = restricted or c.wan_input_dropped


def _communities(c: _Config) -> list[tuple[str, dict[str, str]]]:
    """(name, arguments) of every community; the default "public" unless the export changed it."""
    communities = []
    default_changed = False
    for sec, verb, args in c.cmds:
        if sec != "/snmp community":
            continue
        if verb == "set" and "default=yes" in args.get("_target", ""):
            default_changed = True
            name = args.get("name", "public")
        elif verb == "add":
            name = args.get("name", "")
        else:
            continue
        communities.append((name, args))
    if not default_changed:
        communities.insert(0, ("public", {"addresses": "::/0"}))
    return communities


def _snmp(c: _Config, a: ConfigAudit) -> None:
    a.snmp_enabled = c.settings("/snmp").get("enabled") == "yes"
    communities = _communities(c)
    if a.snmp_enabled:
        for name, args in communities:
            if args.get("disabled") == "yes":
                continue
            addresses = args.get("addresses", "::/0")
            a.snmp_communities.append(
                SnmpCommunity(
                    access="rw" if args.get("write-access") == "yes" else "ro",
                    well_known=name.lower() in WELL_KNOWN_COMMUNITIES,
                    restricted=addresses not in ("", "::/0", "0.0.0.0/0"),
                )
            )
    a.snmp_v3 = a.snmp_enabled and any(
        args.get("security") in ("authorized", "private") for _, args in communities
    )


def _local_users(c: _Config, a: ConfigAudit) -> None:
    # The export leaves users out; the poll reads them with their own command.
    users_text = c.outputs.get("/user print terse")
    if users_text:
        a.users = parse_users(users_text)
        a.users_known = True


def _ntp(c: _Config, a: ConfigAudit) -> None:
    ntp = c.settings("/system ntp client")
    servers = [s for s in ntp.get("servers", "").split(",") if s]
    servers += [
        v for k, v in ntp.items() if k in ("primary-ntp", "secondary-ntp") and v not in ("", "0.0.0.0")
    ]
    servers += [
        args["address"]
        for sec, verb, args in c.cmds
        if sec == "/system ntp client servers" and "address" in args
    ]
    a.ntp_servers = servers if ntp.get("enabled") == "yes" or servers and ntp.get("enabled") != "no" else []


def _syslog(c: _Config, a: ConfigAudit) -> None:
    """Remote logging actions that a logging rule actually uses."""
    remote_actions = {}
    for sec, _verb, args in c.cmds:
        if sec == "/system logging action" and args.get("remote") and args.get("remote") != "0.0.0.0":
            name = args.get("name") or re.sub(r".*name=", "", args.get("_target", ""))
            if args.get("target", "remote") == "remote":
                remote_actions[name] = args["remote"]
    used = {args.get("action") for sec, verb, args in c.cmds if sec == "/system logging" and verb == "add"}
    a.syslog_hosts = [host for name, host in remote_actions.items() if name in used]


def _login_banner(c: _Config, a: ConfigAudit) -> None:
    note = c.settings("/system note")
    a.login_banner = note.get("show-at-login", "yes") == "yes" and bool(note.get("note"))


def _extra_services(c: _Config, a: ConfigAudit) -> None:
    svc: list[str] = [n for n in ("api", "ftp") if n in c.enabled_services]
    for section, label in (("/tool mac-server", "mac-server"), ("/tool mac-server mac-winbox", "mac-winbox")):
        allowed = c.settings(section).get("allowed-interface-list", "all")
        if allowed in ("all", "!LAN") or allowed == "":
            svc.append(label)
    if c.settings("/tool bandwidth-server").get("enabled", "yes") != "no":
        svc.append("bandwidth-server")
    for section, label in (("/ip proxy", "proxy"), ("/ip socks", "socks"), ("/ip upnp", "upnp")):
        if c.settings(section).get("enabled") == "yes":
            svc.append(label)
    a.enabled_services = svc


def _dns_open_to_wan(c: _Config, a: ConfigAudit) -> None:
    dns_udp_dropped = any(
        f.get("chain") == "input"
        and f.get("action") in ("drop", "reject")
        and f.get("dst-port", "") in ("53",)
        for f in c.input_filters
    )
    a.dns_open_to_wan = c.settings("/ip dns").get("allow-remote-requests") == "yes" and not (
        c.wan_input_dropped or dns_udp_dropped
    )


AUDIT_RULES = (
    _management_services,
    _snmp,
    _local_users,
    _ntp,
    _syslog,
    _login_banner,
    _extra_services,
    _dns_open_to_wan,
)


def audit(config: str, outputs: Mapping[str, str] | None = None) -> ConfigAudit:
    return run_rules(_Config(config, outputs), AUDIT_RULES, users_known=False)
