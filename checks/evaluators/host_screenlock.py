"""Screen lock after inactivity, with a password to unlock."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from checks.evaluators._util import part
from checks.model import EvidenceMessage, Verdict, evaluator, msg
from checks.runner import CannotObserve
from inventory.facts import Facts
from inventory.security import ScreenLockFacts


class ScreenLockParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_seconds: int = Field(default=900, ge=60)


@evaluator("host.screen_lock", params=ScreenLockParams)
def screen_lock(facts: Facts, params: ScreenLockParams) -> Verdict:
    s: ScreenLockFacts = part(facts, "screen_lock")

    def said(message_id: str, **params: int) -> EvidenceMessage:
        # Where the setting was read (a policy, a registry key) is data, appended in parentheses.
        # (Each variant has its msgid in checks/locales/vi/evidence.po.)
        if s.source:
            sourced = f"{message_id} (%(source)s)"
            return msg(sourced, source=s.source, **params)
        return msg(message_id, **params)

    if s.lock_enabled is False:
        return Verdict.failed(
            said("the screen does not lock with a password"), timeout_seconds=s.timeout_seconds
        )
    if s.timeout_seconds is None:
        raise CannotObserve("security.screen_lock.timeout_seconds")
    limit = params.max_seconds // 60
    if s.timeout_seconds == 0:
        return Verdict.failed(
            said("the screen never locks by itself (limit %(limit)s min)", limit=limit), timeout_seconds=0
        )
    text = said(
        "the screen locks after %(min)s min %(s)s s idle (limit %(limit)s min)",
        min=s.timeout_seconds // 60,
        s=s.timeout_seconds % 60,
        limit=limit,
    )
    return Verdict.fail_if(s.timeout_seconds > params.max_seconds, text, timeout_seconds=s.timeout_seconds)
