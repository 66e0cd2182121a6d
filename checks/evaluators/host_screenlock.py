"""Screen lock after inactivity, with a password to unlock."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from checks.evaluators._util import part
from checks.model import Verdict, evaluator
from checks.runner import CannotObserve
from inventory.facts import Facts
from inventory.security import ScreenLockFacts


class ScreenLockParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_seconds: int = Field(default=900, ge=60)


@evaluator("host.screen_lock", params=ScreenLockParams)
def screen_lock(facts: Facts, params: ScreenLockParams) -> Verdict:
    s: ScreenLockFacts = part(facts, "screen_lock")
    src = f" ({s.source})" if s.source else ""
    if s.lock_enabled is False:
        return Verdict.failed(
            f"the screen does not lock with a password{src}", timeout_seconds=s.timeout_seconds
        )
    if s.timeout_seconds is None:
        raise CannotObserve("security.screen_lock.timeout_seconds")
    limit = f"limit {params.max_seconds // 60} min"
    if s.timeout_seconds == 0:
        return Verdict.failed(f"the screen never locks by itself ({limit}){src}", timeout_seconds=0)
    text = (
        f"the screen locks after {s.timeout_seconds // 60} min {s.timeout_seconds % 60} s idle ({limit}){src}"
    )
    return Verdict.fail_if(s.timeout_seconds > params.max_seconds, text, timeout_seconds=s.timeout_seconds)
