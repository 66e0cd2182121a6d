"""Host firewall: on, every Windows profile on, inbound blocked by default."""

from __future__ import annotations

from checks.evaluators._util import part
from checks.model import Verdict, evaluator
from checks.runner import CannotObserve
from inventory.facts import Facts
from inventory.security import FirewallFacts


def _what(fw: FirewallFacts) -> str:
    return fw.product or "host firewall"


@evaluator("host.firewall_enabled")
def firewall_enabled(facts: Facts, params: object) -> Verdict:
    fw: FirewallFacts = part(facts, "firewall")
    if fw.enabled is None:
        raise CannotObserve("security.firewall.enabled")
    rules = f", {fw.rule_count} rules" if fw.rule_count is not None else ""
    if fw.product == "none":
        return Verdict.failed("no firewall installed (no ufw, firewalld, nftables, iptables)", product="none")
    if fw.enabled:
        return Verdict.passed(f"{_what(fw)} is on{rules}", product=fw.product, rule_count=fw.rule_count)
    return Verdict.failed(
        f"no host firewall is filtering inbound traffic ({_what(fw)} off)", product=fw.product
    )


@evaluator("host.firewall_profiles")
def firewall_profiles(facts: Facts, params: object) -> Verdict:
    fw: FirewallFacts = part(facts, "firewall")
    if not fw.profiles:
        raise CannotObserve("security.firewall.profiles")
    off = [p.name for p in fw.profiles if p.enabled is False]
    state = {p.name: p.enabled for p in fw.profiles}
    if off:
        return Verdict.failed(f"firewall profile(s) off: {', '.join(off)}", profiles=state)
    if any(p.enabled is None for p in fw.profiles):
        raise CannotObserve("security.firewall.profiles[].enabled")
    return Verdict.passed(f"every firewall profile is on ({', '.join(state)})", profiles=state)


@evaluator("host.firewall_default_inbound")
def firewall_default_inbound(facts: Facts, params: object) -> Verdict:
    fw: FirewallFacts = part(facts, "firewall")
    if fw.profiles:
        allow = [p.name for p in fw.profiles if p.enabled is not False and p.default_inbound == "allow"]
        if allow:
            return Verdict.failed(f"inbound connections allowed by default in: {', '.join(allow)}")
        if all(p.default_inbound in ("block", "not_configured") for p in fw.profiles if p.enabled):
            # NotConfigured on Windows means the built-in default, which blocks inbound.
            return Verdict.passed("inbound connections are blocked unless a rule allows them")
    if fw.product == "none":
        return Verdict.failed("no firewall installed: nothing blocks inbound connections")
    if fw.enabled is False:
        return Verdict.failed(f"{_what(fw)} is off: nothing blocks inbound connections")
    if fw.default_inbound is None:
        raise CannotObserve("security.firewall.default_inbound")
    if fw.default_inbound == "block":
        return Verdict.passed(f"{_what(fw)} blocks inbound connections unless a rule allows them")
    return Verdict.failed(f"{_what(fw)} allows inbound connections by default ({fw.default_inbound})")
