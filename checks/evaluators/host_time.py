"""Clock synchronised with a time server."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from checks.evaluators._util import part
from checks.model import Verdict, evaluator
from checks.runner import CannotObserve
from inventory.facts import Facts
from inventory.security import TimeSyncFacts


class TimeParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_offset_seconds: float = Field(default=5, gt=0)


@evaluator("host.time_synchronized", params=TimeParams)
def time_synchronized(facts: Facts, params: TimeParams) -> Verdict:
    t: TimeSyncFacts = part(facts, "time_sync")
    svc = t.service or "time synchronisation"
    src = f" from {t.source}" if t.source else ""
    if t.enabled is False:
        return Verdict.failed(f"{svc} is off: the clock is not synchronised", service=t.service)
    if t.synchronized is None and t.offset_seconds is None:
        raise CannotObserve("security.time_sync.synchronized")
    if t.synchronized is False:
        return Verdict.failed(f"{svc} is not synchronised{src}", service=t.service)
    if t.offset_seconds is not None and abs(t.offset_seconds) > params.max_offset_seconds:
        return Verdict.failed(
            f"clock is {t.offset_seconds:+.1f} s off{src} (limit {params.max_offset_seconds:g} s)",
            offset_seconds=t.offset_seconds,
        )
    off = f", offset {t.offset_seconds:+.3f} s" if t.offset_seconds is not None else ""
    return Verdict.passed(f"clock synchronised by {svc}{src}{off}", service=t.service)
