"""Host firewall: on, every Windows profile on, inbound blocked by default."""

from __future__ import annotations

from checks.evaluators._util import part
from checks.model import Verdict, evaluator, msg, term
from checks.runner import CannotObserve
from inventory.facts import Facts
from inventory.security import FirewallFacts


def _what(fw: FirewallFacts) -> str:
    return fw.product or term("host firewall")


@evaluator("host.firewall_enabled")
def firewall_enabled(facts: Facts, params: object) -> Verdict:
    fw: FirewallFacts = part(facts, "firewall")
    if fw.enabled is None:
        raise CannotObserve("security.firewall.enabled")
    if fw.product == "none":
        return Verdict.failed(
            msg("no firewall installed (no ufw, firewalld, nftables, iptables)"), product="none"
        )
    if fw.enabled:
        on = (
            msg("%(product)s is on", product=_what(fw))
            if fw.rule_count is None
            else msg("%(product)s is on, %(rules)s rules", product=_what(fw), rules=fw.rule_count)
        )
        return Verdict.passed(on, product=fw.product, rule_count=fw.rule_count)
    return Verdict.failed(
        msg("no host firewall is filtering inbound traffic (%(product)s off)", product=_what(fw)),
        product=fw.product,
    )


@evaluator("host.firewall_profiles")
def firewall_profiles(facts: Facts, params: object) -> Verdict:
    fw: FirewallFacts = part(facts, "firewall")
    if not fw.profiles:
        raise CannotObserve("security.firewall.profiles")
    off = [p.name for p in fw.profiles if p.enabled is False]
    state = {p.name: p.enabled for p in fw.profiles}
    if off:
        return Verdict.failed(msg("firewall profile(s) off: %(profiles)s", profiles=off), profiles=state)
    if any(p.enabled is None for p in fw.profiles):
        raise CannotObserve("security.firewall.profiles[].enabled")
    return Verdict.passed(
        msg("every firewall profile is on (%(profiles)s)", profiles=list(state)), profiles=state
    )


@evaluator("host.firewall_default_inbound")
def firewall_default_inbound(facts: Facts, params: object) -> Verdict:
    fw: FirewallFacts = part(facts, "firewall")
    if fw.profiles:
        allow = [p.name for p in fw.profiles if p.enabled is not False and p.default_inbound == "allow"]
        if allow:
            return Verdict.failed(
                msg("inbound connections allowed by default in: %(profiles)s", profiles=allow)
            )
        if all(p.default_inbound in ("block", "not_configured") for p in fw.profiles if p.enabled):
            # NotConfigured on Windows means the built-in default, which blocks inbound.
            return Verdict.passed(msg("inbound connections are blocked unless a rule allows them"))
    if fw.product == "none":
        return Verdict.failed(msg("no firewall installed: nothing blocks inbound connections"))
    if fw.enabled is False:
        return Verdict.failed(
            msg("%(product)s is off: nothing blocks inbound connections", product=_what(fw))
        )
    if fw.default_inbound is None:
        raise CannotObserve("security.firewall.default_inbound")
    if fw.default_inbound == "block":
        return Verdict.passed(
            msg("%(product)s blocks inbound connections unless a rule allows them", product=_what(fw))
        )
    return Verdict.failed(
        msg(
            "%(product)s allows inbound connections by default (%(policy)s)",
            product=_what(fw),
            policy=fw.default_inbound,
        )
    )
