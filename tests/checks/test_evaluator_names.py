"""Evaluator names are ``<area>.<name>``; a catalog written with the former ``lan_*``/``netdev_*`` names
still loads and judges the same, and check ids (stored in results and findings) did not change."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from checks.catalog import catalog_problems, load_catalog, load_catalog_file
from checks.model import EVALUATOR_ALIASES, EVALUATOR_NAME, evaluator, registry
from checks.runner import run_check
from inventory.facts import Facts

OLD_STYLE_CATALOG = """
- id: site.telnet_on_router
  title: "Telnet management enabled"
  severity: high
  applies_to: [network_device]
  module: devices
  rationale: "Telnet sends the password in clear text."
  remediation: "Use SSH only."
  references: ["our own rule"]
  evaluator: netdev_audit_flag
  params: {field: telnet_enabled, fail_when: true, what: telnet management}
- id: site.rogue_dhcp
  title: "A DHCP server that is not ours"
  severity: high
  applies_to: [host]
  module: lan
  rationale: "A rogue DHCP server can redirect the commune's traffic."
  remediation: "Find it and unplug it."
  references: ["our own rule"]
  evaluator: lan_rogue_dhcp
"""


def test_every_evaluator_and_every_catalog_entry_uses_area_dot_name() -> None:
    names = set(registry())
    assert [n for n in names if not re.match(EVALUATOR_NAME, n)] == []
    assert {c.evaluator for c in load_catalog().values()} <= names
    # The former names are only aliases: each maps to an evaluator registered today.
    assert set(EVALUATOR_ALIASES.values()) <= names
    assert not set(EVALUATOR_ALIASES) & names


def test_an_evaluator_named_another_way_is_refused_at_registration() -> None:
    with pytest.raises(ValueError, match="<area>.<name>"):
        evaluator("netdev_something_new")


def test_check_ids_kept_their_names() -> None:
    """Stored results and findings name these ids: the evaluator rename did not touch them."""
    ids = set(load_catalog())
    assert {"netdev.telnet", "netdev.poll_ok", "lan.rogue_dhcp", "lan.unknown_device"} <= ids


def test_a_catalog_with_the_former_evaluator_names_loads_and_judges_the_same(tmp_path: Path) -> None:
    path = tmp_path / "ours.yaml"
    path.write_text(OLD_STYLE_CATALOG, encoding="utf-8")
    checks = {c.id: c for c in load_catalog_file(path)}
    assert checks["site.telnet_on_router"].evaluator == "netdevice.audit_flag"
    assert checks["site.rogue_dhcp"].evaluator == "lan.rogue_dhcp"
    assert catalog_problems(checks) == []

    telnet = Facts.model_validate({"device": {"platform": "cisco_ios", "audit": {"telnet_enabled": True}}})
    ours = run_check(checks["site.telnet_on_router"], telnet)
    shipped = run_check(load_catalog()["netdev.telnet"], telnet)
    assert [r.status for r in ours] == [r.status for r in shipped] == ["fail"]
    dhcp = Facts.model_validate(
        {
            "network_scan": {
                "parts_run": ["dhcp"],
                "dhcp_servers": [
                    {"server_ip": "192.168.1.1", "mac": "00:0c:42:11:22:33"},
                    {"server_ip": "192.168.0.1", "mac": "50:c7:bf:aa:bb:cc"},
                ],
            }
        }
    )
    ours = run_check(checks["site.rogue_dhcp"], dhcp)
    shipped = run_check(load_catalog()["lan.rogue_dhcp"], dhcp)
    assert [r.status for r in ours] == [r.status for r in shipped] and "fail" in [r.status for r in ours]
