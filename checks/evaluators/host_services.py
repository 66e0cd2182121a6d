"""Risky listening services: telnet, FTP, VNC on a port; SMBv1 on the file server."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from checks.evaluators._util import is_loopback, part
from checks.model import Verdict, evaluator, msg
from checks.runner import CannotObserve
from inventory.facts import Facts
from inventory.security import Listener, SmbFacts


class PortParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    service: str = Field(min_length=1)
    # Single ports or inclusive ranges "5900-5910".
    ports: list[int | str] = Field(min_length=1)
    # A service bound to loopback only cannot be reached from the network.
    loopback_ok: bool = True

    def matches(self, port: int) -> bool:
        for p in self.ports:
            if isinstance(p, int):
                if p == port:
                    return True
            else:
                lo, _, hi = p.partition("-")
                if int(lo) <= port <= int(hi or lo):
                    return True
        return False


@evaluator("host.port_not_listening", params=PortParams)
def port_not_listening(facts: Facts, params: PortParams) -> Verdict:
    listening: list[Listener] = part(facts, "listening")
    hits = [
        lis
        for lis in listening
        if params.matches(lis.port) and not (params.loopback_ok and is_loopback(lis.address))
    ]
    ports = ", ".join(str(p) for p in params.ports)
    if hits:
        where = ", ".join(
            f"{h.address}:{h.port}" + (f" ({h.process})" if h.process else "") for h in hits[:10]
        )
        return Verdict.failed(
            msg("%(service)s is listening: %(where)s", service=params.service, where=where),
            listeners=[f"{h.address}:{h.port}" for h in hits],
        )
    return Verdict.passed(
        msg("nothing listens for %(service)s (port %(ports)s)", service=params.service, ports=ports)
    )


@evaluator("host.smb1_disabled")
def smb1_disabled(facts: Facts, params: object) -> Verdict:
    smb: SmbFacts = part(facts, "smb")
    if smb.smb1_enabled is None:
        if smb.server_running is False:
            return Verdict.passed(msg("no SMB file server is running"))
        raise CannotObserve("security.smb.smb1_enabled")
    if smb.smb1_enabled:
        accepts = (
            msg("the file server accepts SMBv1 (server min protocol %(protocol)s)", protocol=smb.min_protocol)
            if smb.min_protocol
            else msg("the file server accepts SMBv1")
        )
        return Verdict.failed(accepts, min_protocol=smb.min_protocol)
    disabled = (
        msg("SMBv1 is disabled (server min protocol %(protocol)s)", protocol=smb.min_protocol)
        if smb.min_protocol
        else msg("SMBv1 is disabled")
    )
    return Verdict.passed(disabled, min_protocol=smb.min_protocol)
