"""Suspicious changes on a PC: a disk whose serial changed, memory that shrank, a remote-access tool
that appeared. These judge a change, so each needs the earlier value: the collector passes it in
``params.previous`` from the device's stored section (the catalog leaves it empty, and an empty
baseline is "not applicable": there is nothing to compare with). The agent never runs them (module
``changes``); they stay pure functions of (facts, params) like every evaluator.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

from checks.model import Verdict, evaluator, msg
from checks.runner import require
from inventory.facts import Facts

GIB = 1024**3


class DiskSerialParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Disk name -> serial number as the previous report had them.
    previous: dict[str, str] = Field(default_factory=dict)


@evaluator("changes.disk_serial", params=DiskSerialParams)
def disk_serial(facts: Facts, params: DiskSerialParams) -> list[Verdict]:
    disks = [d for d in require(facts.disks, "disks") if not d.removable and (d.bus or "").lower() != "usb"]
    if not params.previous:
        return [Verdict.not_applicable(msg("no earlier disk list to compare with"))]
    out: list[Verdict] = []
    for d in disks:
        before = params.previous.get(d.name)
        if not before or not d.serial:
            continue
        observed = {"disk": d.name, "before": before, "after": d.serial}
        if before.strip() != d.serial.strip():
            v = Verdict.failed(
                msg(
                    "disk %(disk)s: serial number changed from %(old_serial)s to %(serial)s",
                    disk=d.name,
                    old_serial=before,
                    serial=d.serial,
                ),
                **observed,
            )
        else:
            v = Verdict.passed(
                msg("disk %(disk)s: same serial number %(serial)s", disk=d.name, serial=d.serial), **observed
            )
        out.append(Verdict(v.status, v.message or v.evidence, v.observed, target=d.name))
    return out or [Verdict.not_applicable(msg("no disk of the earlier list is still reported with a serial"))]


class MemoryParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    previous_bytes: int | None = Field(default=None, ge=0)
    # The usable memory an OS reports moves by a few MB with kernel or firmware updates; a removed
    # module is at least 512 MB.
    tolerance_bytes: int = Field(default=256 * 1024**2, ge=0)


def _gb(n: int) -> float:
    return float(f"{n / GIB:.1f}")  # a number: shown 7,8 in Vietnamese


@evaluator("changes.ram_decreased", params=MemoryParams)
def ram_decreased(facts: Facts, params: MemoryParams) -> Verdict:
    memory = require(facts.memory, "memory")
    if params.previous_bytes is None:
        return Verdict.not_applicable(msg("no earlier memory size to compare with"))
    before, after = params.previous_bytes, memory.total_bytes
    observed = {"before": before, "after": after}
    if after < before - params.tolerance_bytes:
        return Verdict.failed(
            msg(
                "memory (RAM) decreased from %(before)s GB to %(after)s GB",
                before=_gb(before),
                after=_gb(after),
            ),
            **observed,
        )
    return Verdict.passed(
        msg("memory (RAM) %(after)s GB, was %(before)s GB", after=_gb(after), before=_gb(before)), **observed
    )


class RemoteTool(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    # Lower-case fragments of the installed program's name (as Windows "Programs" or dpkg show it).
    match: list[str] = Field(min_length=1)


class RemoteToolParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tools: list[RemoteTool] = Field(min_length=1)
    # Names of the programs installed at the previous report; None: no earlier list.
    previous: list[str] | None = None


def _norm(name: str) -> str:
    return re.sub(r"\s+", " ", name).strip().lower()


def tool_of(name: str, tools: list[RemoteTool]) -> RemoteTool | None:
    """The remote-access tool an installed program's name is, if any."""
    text = _norm(name)
    return next((t for t in tools if any(m.lower() in text for m in t.match)), None)


@evaluator("changes.remote_access_tool", params=RemoteToolParams)
def remote_access_tool(facts: Facts, params: RemoteToolParams) -> list[Verdict]:
    software = require(facts.software, "software")
    if params.previous is None:
        return [Verdict.not_applicable(msg("no earlier software list to compare with"))]
    before = {t.name for name in params.previous if (t := tool_of(name, params.tools))}
    out: list[Verdict] = []
    seen: set[str] = set()
    for s in software:
        tool = tool_of(s.name, params.tools)
        if tool is None or tool.name in seen:
            continue
        seen.add(tool.name)
        label = f"{s.name} {s.version}" if s.version else s.name
        observed = {"tool": tool.name, "program": s.name, "version": s.version}
        if tool.name in before:
            v = Verdict.passed(msg("%(software)s was already installed", software=label), **observed)
        else:
            v = Verdict.failed(
                msg("remote-access tool newly installed: %(software)s", software=label), **observed
            )
        out.append(Verdict(v.status, v.message or v.evidence, v.observed, target=tool.name))
    return out or [Verdict.passed(msg("no remote-access tool installed"), tools=len(params.tools))]
