"""Anti-malware: a product present, real-time protection on, signatures fresh."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from checks.evaluators._util import day, days_since, part
from checks.model import Verdict, evaluator, msg, now
from checks.runner import CannotObserve
from inventory.facts import Facts
from inventory.security import AntivirusFacts


@evaluator("host.antivirus_present")
def antivirus_present(facts: Facts, params: object) -> Verdict:
    av: AntivirusFacts = part(facts, "antivirus")
    names = sorted({p.name for p in av.products})
    if names:
        return Verdict.passed(msg("anti-malware installed: %(products)s", products=names), products=names)
    return Verdict.failed(msg("no anti-malware product found"))


@evaluator("host.antivirus_enabled")
def antivirus_enabled(facts: Facts, params: object) -> Verdict:
    av: AntivirusFacts = part(facts, "antivirus")
    if not av.products:
        return Verdict.not_applicable(msg("no anti-malware product (see the anti-malware-installed check)"))
    on = [p.name for p in av.products if p.enabled]
    if on:
        return Verdict.passed(msg("real-time protection on: %(products)s", products=on), enabled=on)
    if all(p.enabled is None for p in av.products):
        raise CannotObserve("security.antivirus.products[].enabled")
    off = [p.name for p in av.products if p.enabled is False]
    return Verdict.failed(msg("real-time protection off: %(products)s", products=off), disabled=off)


class FreshParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_age_days: int = Field(default=7, ge=0)


@evaluator("host.antivirus_fresh", params=FreshParams)
def antivirus_fresh(facts: Facts, params: FreshParams) -> Verdict:
    av: AntivirusFacts = part(facts, "antivirus")
    active = [p for p in av.products if p.enabled] or av.products
    if not active:
        return Verdict.not_applicable(msg("no anti-malware product (see the anti-malware-installed check)"))
    dated = [(p, p.signature_updated_at) for p in active if p.signature_updated_at is not None]
    if dated:
        best, newest = max(dated, key=lambda pair: pair[1])
        age = days_since(newest, now())
        text = msg(
            "%(product)s signatures updated %(date)s, %(days)s days ago (limit %(limit)s)",
            product=best.name,
            date=day(newest),
            days=age,
            limit=params.max_age_days,
        )
        return Verdict.fail_if(age > params.max_age_days, text, signature_age_days=age, product=best.name)
    flags = [p for p in active if p.up_to_date is not None]
    if not flags:
        raise CannotObserve("security.antivirus signature age")
    fresh = [p.name for p in flags if p.up_to_date]
    if fresh:
        return Verdict.passed(
            msg("signatures up to date (as the product reports): %(products)s", products=fresh)
        )
    stale = [p.name for p in flags]
    return Verdict.failed(
        msg("signatures out of date (as the product reports): %(products)s", products=stale)
    )
