"""A platform's configuration audit as small rules.

Each platform parses its configuration once into a view (its blocks, its top-level lines, ...) and
lists its rules in order; a rule reads the view and fills its topics of ``ConfigAudit`` (telnet,
SNMP, local users ...). Order matters only where two rules add to one list (``reversible_passwords``):
the list reads in the order the rules run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from inventory.netdevices.facts import ConfigAudit

View = TypeVar("View")
Rule = Callable[[View, ConfigAudit], None]


def run_rules(
    view: View, rules: Sequence[Callable[[View, ConfigAudit], None]], *, users_known: bool = True
) -> ConfigAudit:
    """A fresh audit filled by each rule in turn. ``users_known``: the configuration lists the local
    users (RouterOS keeps them out of its export; its rule sets it when it read them elsewhere)."""
    audit = ConfigAudit(users_known=users_known)
    for rule in rules:
        rule(view, audit)
    return audit
