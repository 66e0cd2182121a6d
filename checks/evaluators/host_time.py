"""Clock synchronised with a time server."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from checks.evaluators._util import part
from checks.model import Verdict, evaluator, msg, term
from checks.runner import CannotObserve
from inventory.facts import Facts
from inventory.security import TimeSyncFacts


class TimeParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_offset_seconds: float = Field(default=5, gt=0)


@evaluator("host.time_synchronized", params=TimeParams)
def time_synchronized(facts: Facts, params: TimeParams) -> Verdict:
    t: TimeSyncFacts = part(facts, "time_sync")
    svc = t.service or term("time synchronisation")
    if t.enabled is False:
        return Verdict.failed(
            msg("%(service)s is off: the clock is not synchronised", service=svc), service=t.service
        )
    if t.synchronized is None and t.offset_seconds is None:
        raise CannotObserve("security.time_sync.synchronized")
    if t.synchronized is False:
        return Verdict.failed(
            msg("%(service)s is not synchronised from %(source)s", service=svc, source=t.source)
            if t.source
            else msg("%(service)s is not synchronised", service=svc),
            service=t.service,
        )
    if t.offset_seconds is not None and abs(t.offset_seconds) > params.max_offset_seconds:
        return Verdict.failed(
            msg(
                "clock is %(offset)s s off from %(source)s (limit %(limit)s s)",
                offset=f"{t.offset_seconds:+.1f}",
                source=t.source,
                limit=f"{params.max_offset_seconds:g}",
            )
            if t.source
            else msg(
                "clock is %(offset)s s off (limit %(limit)s s)",
                offset=f"{t.offset_seconds:+.1f}",
                limit=f"{params.max_offset_seconds:g}",
            ),
            offset_seconds=t.offset_seconds,
        )
    off = f"{t.offset_seconds:+.3f}" if t.offset_seconds is not None else None
    if t.source and off:
        text = msg(
            "clock synchronised by %(service)s from %(source)s, offset %(offset)s s",
            service=svc,
            source=t.source,
            offset=off,
        )
    elif t.source:
        text = msg("clock synchronised by %(service)s from %(source)s", service=svc, source=t.source)
    elif off:
        text = msg("clock synchronised by %(service)s, offset %(offset)s s", service=svc, offset=off)
    else:
        text = msg("clock synchronised by %(service)s", service=svc)
    return Verdict.passed(text, service=t.service)
