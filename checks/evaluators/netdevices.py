"""Network device evaluators (module "devices"): judged on ``facts.device`` (inventory.netdevices.facts).

The agent reads the raw configuration and records what it implies in ``facts.device.audit`` (never a
secret); these pure functions judge that record. A device whose configuration was not read gives
``not_applicable`` naming why (the poll error), and ``netdev.poll_ok`` fails for it.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from checks.model import NoParams, Severity, Verdict, evaluator, msg, term
from checks.runner import MissingFact
from inventory.facts import Facts
from inventory.netdevices.facts import ConfigAudit, NetworkDeviceFacts
from inventory.netdevices.text import version_key


def _device(facts: Facts) -> NetworkDeviceFacts:
    if facts.device is None:
        raise MissingFact("device (this network device was not polled)")
    return facts.device


def _audit(facts: Facts) -> ConfigAudit:
    dev = _device(facts)
    if dev.audit is None:
        why = next(
            (e.message for e in dev.poll_errors if e.stage != "parse"), "the configuration was not read"
        )
        raise MissingFact(f"device.audit ({why[:300]})")
    return dev.audit


def _known(value: Any, what: str) -> Any:
    if value is None:
        raise MissingFact(f"device.audit.{what} (not determined for this platform)")
    return value


@evaluator("netdevice.poll_ok")
def poll_ok(facts: Facts, params: NoParams) -> Verdict:
    dev = _device(facts)
    blocking = [e for e in dev.poll_errors if e.stage != "parse"]
    if not blocking:
        return Verdict.passed(msg("polled: facts and configuration read"), seconds=dev.poll_seconds)
    first = blocking[0]
    v = Verdict.failed(
        msg("%(stage)s: %(error)s", stage=first.stage, error=first.message[: 998 - len(first.stage)]),
        stage=first.stage,
        errors=len(blocking),
    )
    if first.stage == "hostkey":
        return Verdict(v.status, v.message or v.evidence, v.observed, severity=Severity.HIGH)
    return v


class FlagParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: str  # a boolean field of ConfigAudit
    fail_when: bool = True  # the value that fails
    what: str  # English, for the evidence: "telnet management"


@evaluator("netdevice.audit_flag", params=FlagParams)
def audit_flag(facts: Facts, params: FlagParams) -> Verdict:
    if params.field not in ConfigAudit.model_fields:
        raise ValueError(f"unknown audit field {params.field!r}")
    value = _known(getattr(_audit(facts), params.field), params.field)
    if value == params.fail_when:
        text = (
            msg("%(what)s: present", what=term(params.what))
            if value
            else msg("%(what)s: absent", what=term(params.what))
        )
        return Verdict.failed(text, **{params.field: value})
    text = (
        msg("%(what)s: present", what=term(params.what))
        if value
        else msg("%(what)s: absent", what=term(params.what))
    )
    return Verdict.passed(text, **{params.field: value})


@evaluator("netdevice.snmp_default_community")
def snmp_default_community(facts: Facts, params: NoParams) -> Verdict:
    a = _audit(facts)
    if not _known(a.snmp_enabled, "snmp_enabled"):
        return Verdict.passed(msg("SNMP is off"))
    known = [c for c in a.snmp_communities if c.well_known]
    if known:
        unrestricted = sum(1 for c in known if not c.restricted)
        return Verdict.failed(
            msg(
                "%(n)s SNMP community(ies) with a well-known name (public/private/vendor default), "
                "%(unrestricted)s not limited to management addresses",
                n=len(known),
                unrestricted=unrestricted,
            ),
            count=len(known),
            unrestricted=unrestricted,
        )
    return Verdict.passed(msg("no well-known SNMP community among %(n)s", n=len(a.snmp_communities)))


@evaluator("netdevice.snmp_rw_community")
def snmp_rw_community(facts: Facts, params: NoParams) -> Verdict:
    a = _audit(facts)
    if not _known(a.snmp_enabled, "snmp_enabled"):
        return Verdict.passed(msg("SNMP is off"))
    rw = [c for c in a.snmp_communities if c.access == "rw"]
    if rw:
        return Verdict.failed(msg("%(n)s read-write SNMP v1/v2c community(ies)", n=len(rw)), count=len(rw))
    return Verdict.passed(msg("no read-write SNMP community"))


@evaluator("netdevice.snmp_v3")
def snmp_v3(facts: Facts, params: NoParams) -> Verdict:
    a = _audit(facts)
    if not _known(a.snmp_enabled, "snmp_enabled"):
        return Verdict.passed(msg("SNMP is off"))
    if a.snmp_communities and not a.snmp_v3:
        return Verdict.failed(
            msg("SNMP v1/v2c only (%(n)s community(ies), no SNMPv3)", n=len(a.snmp_communities)),
            communities=len(a.snmp_communities),
        )
    return Verdict.passed(msg("SNMPv3 in use") if a.snmp_v3 else msg("no SNMP v1/v2c community"))


@evaluator("netdevice.reversible_passwords")
def reversible_passwords(facts: Facts, params: NoParams) -> Verdict:
    a = _audit(facts)
    if a.reversible_passwords:
        return Verdict.failed(
            msg("passwords stored in clear text or reversibly: %(where)s", where=a.reversible_passwords[:10]),
            where=a.reversible_passwords,
        )
    return Verdict.passed(msg("no clear-text or reversible login passwords"))


@evaluator("netdevice.enable_secret")
def enable_secret(facts: Facts, params: NoParams) -> Verdict:
    a = _audit(facts)
    if _known(a.enable_password, "enable_password") and not a.enable_secret:
        return Verdict.failed(msg("'enable password' is set and 'enable secret' is not"))
    if a.enable_password:
        return Verdict.passed(msg("'enable secret' is set (it overrides 'enable password')"))
    return Verdict.passed(msg("no 'enable password'"))


class DefaultAccountParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    names: dict[str, list[str]] = Field(default_factory=dict)  # platform -> default account names


@evaluator("netdevice.default_account", params=DefaultAccountParams)
def default_account(facts: Facts, params: DefaultAccountParams) -> Verdict:
    dev = _device(facts)
    a = _audit(facts)
    if not a.users_known:
        raise MissingFact("device.audit.users (the local accounts were not read)")
    defaults = {n.lower() for n in params.names.get(dev.platform or "", [])}
    found = [u.name for u in a.users if u.name.lower() in defaults]
    if found:
        return Verdict.failed(
            msg("default account(s) still present: %(accounts)s", accounts=found), accounts=found
        )
    return Verdict.passed(msg("no default account among %(n)s local account(s)", n=len(a.users)))


@evaluator("netdevice.lines_without_login")
def lines_without_login(facts: Facts, params: NoParams) -> Verdict:
    a = _audit(facts)
    if a.lines_without_login:
        return Verdict.failed(
            msg("lines that open a session without a login: %(lines)s", lines=a.lines_without_login),
            lines=a.lines_without_login,
        )
    return Verdict.passed(msg("every line asks for a login"))


class IdleParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_seconds: int = Field(default=900, ge=60)


@evaluator("netdevice.idle_timeout", params=IdleParams)
def idle_timeout(facts: Facts, params: IdleParams) -> Verdict:
    a = _audit(facts)
    bad = [t for t in a.idle_timeouts if t.seconds == 0 or t.seconds > params.max_seconds]
    if bad:
        desc = ", ".join(
            term("%(line)s: never", line=t.line)
            if t.seconds == 0
            else term("%(line)s: %(minutes)s min", line=t.line, minutes=t.seconds // 60)
            for t in bad
        )
        return Verdict.failed(
            msg("idle sessions stay open too long (%(lines)s)", lines=desc), lines=[t.line for t in bad]
        )
    return Verdict.passed(msg("idle sessions close within %(minutes)s min", minutes=params.max_seconds // 60))


class ListParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: str  # ntp_servers, syslog_hosts
    what: str


@evaluator("netdevice.list_present", params=ListParams)
def list_present(facts: Facts, params: ListParams) -> Verdict:
    if params.field not in ConfigAudit.model_fields:
        raise ValueError(f"unknown audit field {params.field!r}")
    values = _known(getattr(_audit(facts), params.field), params.field)
    if not values:
        return Verdict.failed(msg("no %(what)s configured", what=term(params.what)))
    return Verdict.passed(
        msg("%(what)s: %(values)s", what=term(params.what), values=values[:5]), **{params.field: values}
    )


class ServicesParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unneeded: dict[str, list[str]] = Field(default_factory=dict)  # platform -> service names


@evaluator("netdevice.unneeded_services", params=ServicesParams)
def unneeded_services(facts: Facts, params: ServicesParams) -> Verdict:
    dev = _device(facts)
    running = _known(_audit(facts).enabled_services, "enabled_services")
    watch = params.unneeded.get(dev.platform or "")
    found = [s for s in running if watch is None or s in watch]
    if found:
        return Verdict.failed(msg("unneeded services enabled: %(services)s", services=found), services=found)
    return Verdict.passed(msg("no unneeded service enabled"))


@cache
def firmware_table() -> dict[str, Any]:
    text = resources.files("checks.data").joinpath("firmware_min.yaml").read_text(encoding="utf-8")
    table: dict[str, Any] = yaml.safe_load(text)
    return table


@evaluator("netdevice.firmware_minimum")
def firmware_minimum(facts: Facts, params: NoParams) -> Verdict:
    dev = _device(facts)
    if not dev.os_version:
        raise MissingFact("device.os_version")
    rules = firmware_table()["platforms"].get(dev.platform or "")
    if not rules:
        return Verdict.not_applicable(
            msg("no minimum firmware listed for %(platform)s", platform=dev.platform)
        )
    for rule in rules:
        if rule.get("model") and not re.search(rule["model"], dev.model or ""):
            continue
        if rule.get("version") and not re.search(rule["version"], dev.os_version):
            continue
        minimum = str(rule["minimum"])
        have, need = version_key(dev.os_version), version_key(minimum)
        if not have:
            raise MissingFact(f"device.os_version ({dev.os_version!r} has no version number)")
        if have < need:
            return Verdict.failed(
                msg(
                    "firmware %(version)s is older than %(minimum)s: %(reason)s",
                    version=dev.os_version,
                    minimum=minimum,
                    reason=term(rule["reason"]),
                ),
                version=dev.os_version,
                minimum=minimum,
            )
        return Verdict.passed(
            msg("firmware %(version)s >= %(minimum)s", version=dev.os_version, minimum=minimum),
            version=dev.os_version,
            minimum=minimum,
        )
    return Verdict.not_applicable(
        msg(
            "no rule of the firmware table matches %(model)s %(version)s",
            model=dev.model,
            version=dev.os_version,
        )
    )
