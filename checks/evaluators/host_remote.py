"""Remote access: RDP and SSH reachable only from the LAN, RDP with NLA, no SSH root password login."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from checks.evaluators._util import is_lan_address, is_loopback, is_wildcard, part, scope_is_lan, unseen
from checks.model import Verdict, evaluator, msg, term
from checks.runner import CannotObserve, MissingFact
from inventory.facts import Facts
from inventory.security import RemoteAccessFacts, RemoteService

NAMES = {"rdp": term("Remote Desktop (RDP)"), "ssh": term("SSH server")}


class ServiceParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    service: Literal["rdp", "ssh"]


def _service(facts: Facts, which: str) -> RemoteService:
    ra: RemoteAccessFacts = part(facts, "remote_access")
    svc: RemoteService | None = getattr(ra, which)
    if svc is None:
        raise MissingFact(f"security.remote_access.{which}")  # no such service on this OS
    return svc


def _running(svc: RemoteService) -> bool | None:
    if svc.listening:
        return True
    return svc.enabled


@evaluator("host.remote_lan_only", params=ServiceParams)
def remote_lan_only(facts: Facts, params: ServiceParams) -> Verdict:
    svc = _service(facts, params.service)
    name = NAMES[params.service]
    running = _running(svc)
    if running is None:
        raise unseen(facts, f"remote_access.{params.service}.enabled")
    if not running:
        return Verdict.passed(msg("%(service)s is off", service=name))
    listening = ", ".join(svc.listening) or f"port {svc.port or '?'}"  # data: addresses or the port
    public = [a for a in svc.listening if not is_wildcard(a) and not is_lan_address(a)]
    if public:
        return Verdict.failed(
            msg("%(service)s listens on a public address: %(addresses)s", service=name, addresses=public),
            listening=svc.listening,
        )
    if svc.listening and all(is_loopback(a) for a in svc.listening):
        return Verdict.passed(
            msg("%(service)s listens on loopback only (%(listening)s)", service=name, listening=listening),
            listening=svc.listening,
        )
    fw = facts.security.firewall if facts.security else None
    if fw is not None and fw.enabled is False:
        return Verdict.failed(
            msg(
                "%(service)s is on (%(listening)s) and no host firewall limits who can reach it",
                service=name,
                listening=listening,
            ),
            listening=svc.listening,
        )
    if svc.allowed_from is None:
        if svc.listening and all(not is_wildcard(a) and is_lan_address(a) for a in svc.listening):
            return Verdict.passed(
                msg(
                    "%(service)s listens on LAN addresses only (%(listening)s)",
                    service=name,
                    listening=listening,
                ),
                listening=svc.listening,
            )
        raise CannotObserve(f"which remote addresses the firewall lets reach the {name}")
    scopes = {s: scope_is_lan(s) for s in svc.allowed_from}
    open_ = [s for s, lan in scopes.items() if lan is False]
    if open_:
        return Verdict.failed(
            msg(
                "%(service)s is on (%(listening)s) and the firewall lets in: %(scopes)s",
                service=name,
                listening=listening,
                scopes=open_,
            ),
            listening=svc.listening,
            allowed_from=svc.allowed_from,
        )
    if any(lan is None for lan in scopes.values()):
        raise CannotObserve(f"readable firewall scope for the {name} ({', '.join(svc.allowed_from)})")
    allowed = ", ".join(svc.allowed_from) or term("nobody")
    return Verdict.passed(
        msg("%(service)s is on, reachable only from: %(allowed)s", service=name, allowed=allowed),
        allowed_from=svc.allowed_from,
    )


@evaluator("host.rdp_nla")
def rdp_nla(facts: Facts, params: object) -> Verdict:
    svc = _service(facts, "rdp")
    if _running(svc) is False:
        return Verdict.not_applicable(msg("Remote Desktop is off"))
    if svc.nla_required is None:
        raise CannotObserve("security.remote_access.rdp.nla_required")
    if svc.nla_required:
        return Verdict.passed(msg("Remote Desktop requires Network Level Authentication"))
    return Verdict.failed(msg("Remote Desktop accepts connections without Network Level Authentication"))


@evaluator("host.ssh_root_login")
def ssh_root_login(facts: Facts, params: object) -> Verdict:
    svc = _service(facts, "ssh")
    if _running(svc) is False:
        return Verdict.not_applicable(msg("the SSH server is off"))
    if svc.root_login is None:
        raise unseen(facts, "remote_access.ssh.root_login")
    value = svc.root_login.lower()
    if value in ("no", "prohibit-password", "without-password", "forced-commands-only"):
        return Verdict.passed(
            msg("SSH root login with a password is refused (PermitRootLogin %(value)s)", value=value)
        )
    return Verdict.failed(
        msg("SSH accepts root login with a password (PermitRootLogin %(value)s)", value=value)
    )
