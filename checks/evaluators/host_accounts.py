"""Local accounts: few administrators, guest off, built-in Administrator off, one uid 0."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from checks.evaluators._util import part, unseen
from checks.model import Verdict, evaluator, msg
from checks.runner import CannotObserve
from inventory.facts import Facts
from inventory.security import AccountFacts


class AdminParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_admins: int = Field(default=2, ge=1)
    # Members that do not count (e.g. a domain group the city's IT manages), compared case-insensitively
    # against the name and the part after a backslash.
    allowed: list[str] = Field(default_factory=lambda: ["Domain Admins"])


@evaluator("host.admins_limited", params=AdminParams)
def admins_limited(facts: Facts, params: AdminParams) -> Verdict:
    acc: AccountFacts = part(facts, "accounts")
    if acc.admins is None:
        raise unseen(facts, "accounts.admins")
    allowed = {a.lower() for a in params.allowed}
    counted = [
        a.name
        for a in acc.admins
        if a.enabled is not False
        and a.name.lower() not in allowed
        and a.name.split("\\")[-1].lower() not in allowed
    ]
    text = (
        msg(
            "%(n)s enabled administrator account(s): %(names)s (limit %(limit)s)",
            n=len(counted),
            names=counted,
            limit=params.max_admins,
        )
        if counted
        else msg("0 enabled administrator account(s): none (limit %(limit)s)", limit=params.max_admins)
    )
    return Verdict.fail_if(len(counted) > params.max_admins, text, admins=counted)


@evaluator("host.guest_disabled")
def guest_disabled(facts: Facts, params: object) -> Verdict:
    acc: AccountFacts = part(facts, "accounts")
    if acc.guest_enabled is None:
        raise unseen(facts, "accounts.guest_enabled")
    if acc.guest_enabled:
        return Verdict.failed(msg("the guest account is enabled: anyone can log in without a password"))
    return Verdict.passed(msg("the guest account is disabled"))


@evaluator("host.builtin_admin_disabled")
def builtin_admin_disabled(facts: Facts, params: object) -> Verdict:
    acc: AccountFacts = part(facts, "accounts")
    if acc.builtin_admin_enabled is None:
        raise CannotObserve("security.accounts.builtin_admin_enabled")
    if acc.builtin_admin_enabled:
        return Verdict.failed(msg("the built-in Administrator account is enabled"))
    return Verdict.passed(msg("the built-in Administrator account is disabled"))


@evaluator("host.single_uid0")
def single_uid0(facts: Facts, params: object) -> Verdict:
    acc: AccountFacts = part(facts, "accounts")
    if acc.uid0_accounts is None:
        raise CannotObserve("security.accounts.uid0_accounts")
    extra = [n for n in acc.uid0_accounts if n != "root"]
    if extra:
        return Verdict.failed(
            msg("accounts other than root with uid 0: %(accounts)s", accounts=extra), uid0=acc.uid0_accounts
        )
    return Verdict.passed(msg("only root has uid 0"), uid0=acc.uid0_accounts)
