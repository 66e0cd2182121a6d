"""Operating system updates: automatic, recent, no pending security updates, no pending reboot."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from checks.evaluators._util import day, days_since, part
from checks.model import Verdict, evaluator, now
from checks.runner import CannotObserve
from inventory.facts import Facts
from inventory.security import UpdateFacts


@evaluator("host.updates_automatic")
def updates_automatic(facts: Facts, params: object) -> Verdict:
    up: UpdateFacts = part(facts, "updates")
    if up.automatic is None:
        raise CannotObserve("security.updates.automatic")
    how = up.mechanism or "automatic updates"
    if up.automatic:
        return Verdict.passed(f"automatic updates on ({how})", mechanism=up.mechanism)
    return Verdict.failed(f"automatic updates off ({how})", mechanism=up.mechanism)


class RecentParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_days: int = Field(default=35, ge=1)


@evaluator("host.updates_recent", params=RecentParams)
def updates_recent(facts: Facts, params: RecentParams) -> Verdict:
    up: UpdateFacts = part(facts, "updates")
    if up.last_update_at is None:
        raise CannotObserve("security.updates.last_update_at")
    age = days_since(up.last_update_at, now())
    what = f" ({up.last_update_what})" if up.last_update_what else ""
    text = f"last update installed {day(up.last_update_at)}{what}, {age} days ago (limit {params.max_days})"
    return Verdict.fail_if(age > params.max_days, text, days_since_update=age)


class PendingParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_pending: int = Field(default=0, ge=0)


@evaluator("host.updates_pending_security", params=PendingParams)
def updates_pending_security(facts: Facts, params: PendingParams) -> Verdict:
    up: UpdateFacts = part(facts, "updates")
    if up.pending_security is None:
        raise CannotObserve("security.updates.pending_security (the OS does not tell)")
    n = up.pending_security
    total = f" of {up.pending_total} pending" if up.pending_total is not None else ""
    if n > params.max_pending:
        return Verdict.failed(f"{n} security update(s) not installed{total}", pending_security=n)
    return Verdict.passed(f"{n} security update(s) pending{total}", pending_security=n)


@evaluator("host.updates_reboot_pending")
def updates_reboot_pending(facts: Facts, params: object) -> Verdict:
    up: UpdateFacts = part(facts, "updates")
    if up.reboot_required is None:
        raise CannotObserve("security.updates.reboot_required")
    if up.reboot_required:
        return Verdict.failed("installed updates wait for a restart to take effect")
    return Verdict.passed("no restart pending for installed updates")
