"""Password policy: minimum length, maximum age, history, complexity, account lockout."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from checks.evaluators._util import part
from checks.model import Verdict, evaluator, msg
from checks.runner import CannotObserve
from inventory.facts import Facts
from inventory.security import PasswordPolicy


def _src(p: PasswordPolicy) -> str:
    return p.source or ""


class MinLengthParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_length: int = Field(default=8, ge=1)


@evaluator("host.password_min_length", params=MinLengthParams)
def password_min_length(facts: Facts, params: MinLengthParams) -> Verdict:
    p: PasswordPolicy = part(facts, "password_policy")
    if p.min_length is None:
        raise CannotObserve("security.password_policy.min_length")
    text = (
        msg(
            "minimum password length %(n)s (required %(required)s) (%(source)s)",
            n=p.min_length,
            required=params.min_length,
            source=_src(p),
        )
        if p.source
        else msg(
            "minimum password length %(n)s (required %(required)s)",
            n=p.min_length,
            required=params.min_length,
        )
    )
    return Verdict.fail_if(p.min_length < params.min_length, text, min_length=p.min_length)


class MaxAgeParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_days: int = Field(default=90, ge=1)


@evaluator("host.password_max_age", params=MaxAgeParams)
def password_max_age(facts: Facts, params: MaxAgeParams) -> Verdict:
    p: PasswordPolicy = part(facts, "password_policy")
    if p.never_expires:
        return Verdict.failed(
            msg(
                "passwords never expire (required at most %(days)s days) (%(source)s)",
                days=params.max_days,
                source=_src(p),
            )
            if p.source
            else msg("passwords never expire (required at most %(days)s days)", days=params.max_days)
        )
    if p.max_age_days is None:
        raise CannotObserve("security.password_policy.max_age_days")
    text = (
        msg(
            "passwords expire after %(n)s days (required at most %(required)s) (%(source)s)",
            n=p.max_age_days,
            required=params.max_days,
            source=_src(p),
        )
        if p.source
        else msg(
            "passwords expire after %(n)s days (required at most %(required)s)",
            n=p.max_age_days,
            required=params.max_days,
        )
    )
    return Verdict.fail_if(p.max_age_days > params.max_days, text, max_age_days=p.max_age_days)


class HistoryParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_history: int = Field(default=5, ge=1)


@evaluator("host.password_history", params=HistoryParams)
def password_history(facts: Facts, params: HistoryParams) -> Verdict:
    p: PasswordPolicy = part(facts, "password_policy")
    if p.history is None:
        raise CannotObserve("security.password_policy.history")
    text = (
        msg(
            "%(n)s previous passwords remembered (required %(required)s) (%(source)s)",
            n=p.history,
            required=params.min_history,
            source=_src(p),
        )
        if p.source
        else msg(
            "%(n)s previous passwords remembered (required %(required)s)",
            n=p.history,
            required=params.min_history,
        )
    )
    return Verdict.fail_if(p.history < params.min_history, text, history=p.history)


@evaluator("host.password_complexity")
def password_complexity(facts: Facts, params: object) -> Verdict:
    p: PasswordPolicy = part(facts, "password_policy")
    if p.complexity is None:
        raise CannotObserve("security.password_policy.complexity")
    if p.complexity:
        return Verdict.passed(
            msg("passwords must mix character classes (%(source)s)", source=_src(p))
            if p.source
            else msg("passwords must mix character classes")
        )
    return Verdict.failed(
        msg("no password complexity requirement (%(source)s)", source=_src(p))
        if p.source
        else msg("no password complexity requirement")
    )


class LockoutParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_attempts: int = Field(default=10, ge=1)


@evaluator("host.account_lockout", params=LockoutParams)
def account_lockout(facts: Facts, params: LockoutParams) -> Verdict:
    p: PasswordPolicy = part(facts, "password_policy")
    if p.lockout_threshold is None:
        raise CannotObserve("security.password_policy.lockout_threshold")
    if p.lockout_threshold == 0:
        return Verdict.failed(
            msg("accounts never lock after failed logins (%(source)s)", source=_src(p))
            if p.source
            else msg("accounts never lock after failed logins"),
            lockout_threshold=0,
        )
    text = (
        msg(
            "accounts lock after %(n)s failed logins (required at most %(required)s) (%(source)s)",
            n=p.lockout_threshold,
            required=params.max_attempts,
            source=_src(p),
        )
        if p.source
        else msg(
            "accounts lock after %(n)s failed logins (required at most %(required)s)",
            n=p.lockout_threshold,
            required=params.max_attempts,
        )
    )
    return Verdict.fail_if(
        p.lockout_threshold > params.max_attempts, text, lockout_threshold=p.lockout_threshold
    )
