"""Parsers against recorded output: ntc samples against their .expected.yml, oxidized samples
(newer formats) through the small fallback parsers; scrubbing leaves no secret; audits."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from inventory.netdevices.platforms import platform_module
from inventory.netdevices.scrub import REMOVED
from inventory.netdevices.text import clean, textfsm, uptime_seconds, version_key

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "devices"

# The ntc sample folder stands for this exact command (see the fixtures' README).
NTC_COMMANDS = {
    "show_version": "show version",
    "show_inventory": "show inventory",
    "show_interfaces_status": "show interfaces status",
    "show_ip_interface_brief": "show ip interface brief",
    "display_version": "display version",
    "display_device": "display device",
    "display_interface_brief": "display interface brief",
    "system_resource_print": "/system resource print",
    "system_routerboard_print": "/system routerboard print",
    "system_identity_print": "/system identity print",
    "interface_print_brief": "/interface print brief",
    "interface_print_detail": "/interface print detail",
    "interface_print_terse_without-paging": "/interface print terse without-paging",
    "show_chassis_hardware": "show chassis hardware",
    "show_system_uptime": "show system uptime",
}
EXPECTED = sorted(FIX.glob("*/ntc-*/*.expected.yml"))


@pytest.mark.parametrize("expected", EXPECTED, ids=lambda p: f"{p.parts[-3]}/{p.parts[-2]}")
def test_textfsm_matches_ntc_expected_parse(expected: Path):
    platform = expected.parts[-3]
    stem = expected.name.removesuffix(".expected.yml")
    raw = expected.with_name(stem + ".txt").read_text(encoding="utf-8")
    want = yaml.safe_load(expected.read_text(encoding="utf-8"))["parsed_sample"]
    assert textfsm(platform, NTC_COMMANDS[stem], raw) == want


def test_every_expected_file_is_checked():
    assert len(EXPECTED) == 27


def _outputs(platform: str, sample: str, mapping: dict[str, str]) -> dict[str, str]:
    return {
        cmd: (FIX / platform / sample / name).read_text(encoding="utf-8") for cmd, name in mapping.items()
    }


def test_ios_facts_from_show_version_and_inventory():
    outs = _outputs(
        "cisco_ios",
        "oxidized-C9200L-24P-4G_17.09.04a",
        {"show version": "show_version.txt", "show inventory": "show_inventory.txt"},
    )
    facts, warnings = platform_module("cisco_ios").parse_facts(outs)
    assert (facts.hostname, facts.model, facts.os_version) == ("LAB-SW123_9200L", "C9200L-24P-4G", "17.9.4a")
    assert facts.serial_number and facts.uptime and facts.uptime > 86400
    assert warnings == []


def test_routeros_7_15_resource_print_falls_back_to_the_small_parser():
    # ntc's template does not know 7.15's ISO build-time; the key: value parser takes over silently
    outs = _outputs(
        "mikrotik_routeros",
        "oxidized-L009UiGS_7.15.2",
        {"/system resource print": "system_resource_print.txt"},
    )
    facts, warnings = platform_module("mikrotik_routeros").parse_facts(outs)
    assert (facts.os_version, facts.model) == ("7.15.2", "L009UiGS")
    assert facts.uptime == uptime_seconds("14w1d19h55m4s")
    assert warnings == []


def test_junos_short_show_version_and_chassis_row_fallbacks():
    outs = _outputs(
        "juniper_junos",
        "oxidized-srx300_22.4",
        {"show version": "show_version.txt", "show chassis hardware": "show_chassis_hardware.txt"},
    )
    facts, warnings = platform_module("juniper_junos").parse_facts(outs)
    assert (facts.model, facts.os_version, facts.serial_number) == ("srx300", "22.4R3-S2.11", "AA0000AA0000")
    assert warnings == []


def test_vrp_version_esn_and_sysname():
    outs = {
        "display version": (FIX / "huawei_vrp/ntc-display_version3/display_version.txt").read_text(),
        "display esn": (FIX / "authored/huawei_vrp/ar6280/display_esn.txt").read_text(),
    }
    config = (FIX / "authored/huawei_vrp/ar6280/display_current-configuration.txt").read_text()
    facts, _ = platform_module("huawei_vrp").parse_facts(outs, config)
    assert (facts.model, facts.os_version, facts.serial_number) == (
        "AR6280",
        "V300R019C10SPC300",
        "2102351931P0C3000154",
    )
    assert facts.hostname == "UBND-XaA-AR6280"


def test_clean_strips_vrp_escape_codes_and_pager():
    raw = " \x1b[1DInterface  PHY\r\n  ---- More ----\x1b[16D                \x1b[16DGE0/0/1  up\r\n"
    assert clean(raw) == "Interface  PHY\nGE0/0/1  up\n"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2 years, 31 weeks, 6 days, 9 hours, 55 minutes", 82374900),
        ("58m18s", 3498),
        ("1w2d03:04:05", 788645),
    ],
)
def test_uptime_formats(text, seconds):
    assert uptime_seconds(text) == seconds


def test_version_key_orders_within_a_train():
    assert version_key("15.5(3)S4") > version_key("15.2(7)")
    assert version_key("6.48.6") < version_key("6.49.10")
    assert version_key("V300R019C10SPC300") > version_key("V200R019C10")


# ---- scrubbing ----------------------------------------------------------------------------------

CONFIGS = [
    (
        "cisco_ios",
        "cisco_ios/napalm-test_get_config-normal/show_running-config.txt",
        ["password 0 cisco", "password cisco"],
    ),
    (
        "cisco_ios",
        "cisco_ios/oxidized-C9200L-24P-4G_17.09.04a/show_running-config.txt",
        ["AAAAAAAAAABBBBBBBBBB", "SECRET_ENABLE", "SECRET_OXIDIZED", "community public"],
    ),
    (
        "cisco_ios",
        "cisco_ios/oxidized-asr920_16.8.1b/show_running-config.txt",
        ["ABCDEFGH1234", "secret 5 password"],
    ),
    (
        "huawei_vrp",
        "authored/huawei_vrp/ar6280/display_current-configuration.txt",
        ["%^%#", "$1a$", "write public"],
    ),
    (
        "mikrotik_routeros",
        "mikrotik_routeros/oxidized-L009UiGS_7.15.2/export_show-sensitive.txt",
        ["password=password", "name=community", "trap-community=community"],
    ),
    (
        "mikrotik_routeros",
        "authored/mikrotik_routeros/hex-6.48/export.txt",
        ["Vpn-Plain-Secret-1", "name=public"],
    ),
    (
        "juniper_junos",
        "juniper_junos/oxidized-srx300_22.4/show_configuration_display_omit.txt",
        ["very-secret-encrypted-password", "CorrectHorseBattery", "$9$FAKEHASH"],
    ),
]


@pytest.mark.parametrize(("platform", "path", "secrets"), CONFIGS, ids=[c[1].split("/")[-2] for c in CONFIGS])
def test_scrub_removes_every_secret_and_is_stable(platform, path, secrets):
    module = platform_module(platform)
    raw = (FIX / path).read_text(encoding="utf-8")
    for secret in secrets:
        assert secret in raw, f"fixture changed: {secret!r} not in it"
    scrubbed = module.scrub(raw)
    for secret in secrets:
        assert secret not in scrubbed
    assert REMOVED in scrubbed
    assert module.scrub(scrubbed) == scrubbed  # idempotent: a re-scrub changes nothing


def test_routeros_export_timestamp_does_not_change_the_backup():
    module = platform_module("mikrotik_routeros")
    raw = (FIX / "mikrotik_routeros/oxidized-CHR_7.10.1/export_show-sensitive.txt").read_text()
    later = re.sub(r"^# \S+ \S+ by", "# 2025-01-01 00:00:00 by", raw, count=1, flags=re.M)
    assert later != raw
    assert module.scrub(later) == module.scrub(raw)


# ---- audits -------------------------------------------------------------------------------------


def test_ios_weak_lab_config_audit():
    a = platform_module("cisco_ios").audit((FIX / CONFIGS[0][1]).read_text())
    assert a.enable_password and not a.enable_secret
    assert a.reversible_passwords == ["enable password (type 0)", "username cisco (type 0)"]
    assert a.password_encryption_service is False
    assert a.telnet_enabled is True  # no "transport input" on the vty lines
    assert a.ssh_v1_enabled is True and a.http_enabled is False
    assert [u.name for u in a.users] == ["cisco"]


def test_ios_c9200_snmp_public_rw_with_acl():
    a = platform_module("cisco_ios").audit((FIX / CONFIGS[1][1]).read_text())
    assert [(c.access, c.well_known, c.restricted) for c in a.snmp_communities] == [("rw", True, True)]
    assert a.snmp_v3 is False and a.login_banner is True and a.aaa_enabled is True


def test_routeros_v6_defaults_are_known_to_the_audit():
    a = platform_module("mikrotik_routeros").audit((FIX / CONFIGS[5][1]).read_text())
    assert a.telnet_enabled and a.http_enabled  # v6 default services, not exported
    assert a.dns_open_to_wan is True  # allow-remote-requests and no input firewall
    assert "mac-server" in a.enabled_services and "bandwidth-server" in a.enabled_services
    assert [(c.access, c.well_known) for c in a.snmp_communities] == [("rw", True)]


def test_routeros_defconf_firewall_protects_dns_and_management():
    a = platform_module("mikrotik_routeros").audit((FIX / CONFIGS[4][1]).read_text())
    assert a.management_acl is True and a.dns_open_to_wan is False


def test_vrp_audit():
    a = platform_module("huawei_vrp").audit((FIX / CONFIGS[3][1]).read_text())
    assert a.telnet_enabled and a.http_enabled
    assert a.idle_timeouts[0].seconds == 0
    assert a.ntp_servers == ["10.10.0.1"] and a.syslog_hosts == ["10.10.0.5"]
    assert "local-user noc (password cipher)" in a.reversible_passwords
    # a "cipher" community cannot be judged by name; the plain "public" one can
    assert [(c.access, c.well_known) for c in a.snmp_communities] == [("ro", False), ("rw", True)]


def test_junos_audit():
    a = platform_module("juniper_junos").audit((FIX / CONFIGS[6][1]).read_text())
    assert a.telnet_enabled is False and a.http_enabled is False
    assert [u.name for u in a.users] == ["oxidized"]
    assert a.idle_timeouts[0].seconds == 0  # no login class sets idle-timeout
