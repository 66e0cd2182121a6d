"""Operating system updates: automatic, recent, no pending security updates, no pending reboot."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from checks.evaluators._util import day, days_since, part
from checks.model import Verdict, evaluator, msg, now
from checks.runner import CannotObserve
from inventory.facts import Facts
from inventory.security import UpdateFacts


@evaluator("host.updates_automatic")
def updates_automatic(facts: Facts, params: object) -> Verdict:
    up: UpdateFacts = part(facts, "updates")
    if up.automatic is None:
        raise CannotObserve("security.updates.automatic")
    if up.automatic:
        on = (
            msg("automatic updates on (%(how)s)", how=up.mechanism)
            if up.mechanism
            else msg("automatic updates on")
        )
        return Verdict.passed(on, mechanism=up.mechanism)
    off = (
        msg("automatic updates off (%(how)s)", how=up.mechanism)
        if up.mechanism
        else msg("automatic updates off")
    )
    return Verdict.failed(off, mechanism=up.mechanism)


class RecentParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_days: int = Field(default=35, ge=1)


@evaluator("host.updates_recent", params=RecentParams)
def updates_recent(facts: Facts, params: RecentParams) -> Verdict:
    up: UpdateFacts = part(facts, "updates")
    if up.last_update_at is None:
        raise CannotObserve("security.updates.last_update_at")
    age = days_since(up.last_update_at, now())
    when = day(up.last_update_at)
    if up.last_update_what:
        text = msg(
            "last update installed %(date)s (%(what)s), %(days)s days ago (limit %(limit)s)",
            date=when,
            what=up.last_update_what,
            days=age,
            limit=params.max_days,
        )
    else:
        text = msg(
            "last update installed %(date)s, %(days)s days ago (limit %(limit)s)",
            date=when,
            days=age,
            limit=params.max_days,
        )
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
    total = up.pending_total
    if n > params.max_pending:
        text = (
            msg("%(n)s security update(s) not installed", n=n)
            if total is None
            else msg("%(n)s security update(s) not installed of %(total)s pending", n=n, total=total)
        )
        return Verdict.failed(text, pending_security=n)
    text = (
        msg("%(n)s security update(s) pending", n=n)
        if total is None
        else msg("%(n)s security update(s) pending of %(total)s pending", n=n, total=total)
    )
    return Verdict.passed(text, pending_security=n)


@evaluator("host.updates_reboot_pending")
def updates_reboot_pending(facts: Facts, params: object) -> Verdict:
    up: UpdateFacts = part(facts, "updates")
    if up.reboot_required is None:
        raise CannotObserve("security.updates.reboot_required")
    if up.reboot_required:
        return Verdict.failed(msg("installed updates wait for a restart to take effect"))
    return Verdict.passed(msg("no restart pending for installed updates"))
