"""ONE contract suite, run against every driver over a real SSH connection to a simulated device."""

from __future__ import annotations

import time

import pytest

from inventory.netdevices.contract import (
    AuthError,
    BasicFacts,
    CommandTimeout,
    ConnectError,
    ConnectionDropped,
    ForbiddenCommand,
    HostKeyChanged,
    Timeouts,
)
from inventory.netdevices.drivers import DRIVERS, driver_class
from inventory.netdevices.platforms import platform_module
from tests.inventory.netdevices.sshsim import host_key
from tests.inventory.netdevices.support import CONTRACT_PROFILES, FAST, target_for

PLATFORMS = sorted(DRIVERS)
# What netmiko itself sends to set a session up and leave it: harmless, never configuration.
SESSION_COMMANDS = {"terminal width 511", "terminal length 0", "screen-length 0 temporary", "exit", "quit"}
# A configuration command per platform, which the driver must refuse to send.
CONFIG_COMMANDS = {
    "cisco_ios": "configure terminal",
    "huawei_vrp": "system-view",
    "mikrotik_routeros": "/system reset-configuration",
    "juniper_junos": "configure",
}


def _driver(platform, dev, known_hosts, *, password=None, timeouts=FAST):
    return driver_class(platform)(
        target_for(dev), password or dev.password, known_hosts=known_hosts, timeouts=timeouts
    )


@pytest.fixture(params=PLATFORMS)
def platform(request):
    return request.param


def test_every_platform_has_a_driver_and_a_simulated_device():
    assert set(PLATFORMS) == set(CONTRACT_PROFILES)


def test_get_facts_returns_every_napalm_field(platform, sim, known_hosts):
    dev = sim(CONTRACT_PROFILES[platform])
    with _driver(platform, dev, known_hosts) as d:
        facts = d.get_facts()
        interfaces = d.get_interfaces()
        config = d.get_config()
        facts = d.facts  # re-read with the configuration (VRP sysname, Junos host-name)
    assert isinstance(facts, BasicFacts)
    assert facts.vendor == driver_class(platform).vendor
    for field in ("model", "os_version", "serial_number"):
        assert getattr(facts, field), f"{platform}: {field} missing"
    assert facts.hostname or platform == "juniper_junos"  # the srx300 recording names no host
    assert isinstance(facts.uptime, int) and facts.uptime > 0
    assert facts.interface_list and facts.interface_list == [i.name for i in interfaces]
    assert len(config.splitlines()) > 20
    assert d.host_key_fingerprint and d.host_key_fingerprint.startswith("SHA256:")
    assert not d.parse_warnings, d.parse_warnings


def test_only_read_only_commands_reach_the_device(platform, sim, known_hosts):
    dev = sim(CONTRACT_PROFILES[platform])
    module = platform_module(platform)
    with _driver(platform, dev, known_hosts) as d:
        d.get_facts()
        d.get_config()
        with pytest.raises(ForbiddenCommand):
            d.run(CONFIG_COMMANDS[platform])
    assert dev.commands, "the device saw no command"
    for command in dev.commands:
        assert command in SESSION_COMMANDS or module.is_read_only(command), command
    assert CONFIG_COMMANDS[platform] not in dev.commands


def test_wrong_password_is_an_auth_error(platform, sim, known_hosts):
    dev = sim(CONTRACT_PROFILES[platform])
    d = _driver(platform, dev, known_hosts, password="not-the-password")
    with pytest.raises(AuthError) as exc:
        d.open()
    d.close()
    assert "not-the-password" not in str(exc.value)
    assert dev.commands == []


def test_slow_device_hits_the_command_timeout(platform, sim, known_hosts):
    dev = sim(CONTRACT_PROFILES[platform], slow=4.0)
    started = time.monotonic()
    d = _driver(platform, dev, known_hosts, timeouts=Timeouts(connect=5, command=1))
    with pytest.raises(CommandTimeout):
        d.open()
        d.get_facts()
    d.close()
    assert time.monotonic() - started < 4.0


def test_silent_server_hits_the_connect_timeout(platform, sim, known_hosts):
    dev = sim(CONTRACT_PROFILES[platform], banner_delay=4.0)
    started = time.monotonic()
    d = _driver(platform, dev, known_hosts, timeouts=Timeouts(connect=1, command=5))
    with pytest.raises(ConnectError):
        d.open()
    d.close()
    assert time.monotonic() - started < 4.0


def test_garbage_output_gives_empty_facts_and_warnings_not_a_crash(platform, sim, known_hosts):
    dev = sim(CONTRACT_PROFILES[platform], garbage=True)
    with _driver(platform, dev, known_hosts) as d:
        facts = d.get_facts()
    assert facts.model is None and facts.serial_number is None and facts.os_version is None
    assert d.parse_warnings


def test_connection_dropped_mid_command(platform, sim, known_hosts):
    module = platform_module(platform)
    dev = sim(CONTRACT_PROFILES[platform])
    with _driver(platform, dev, known_hosts) as d:
        facts = d.get_facts()
        dev.drop_on = module.config_command(facts)
        with pytest.raises(ConnectionDropped):
            d.get_config()


def test_changed_host_key_is_refused_before_login(platform, sim, known_hosts):
    dev = sim(CONTRACT_PROFILES[platform])
    with _driver(platform, dev, known_hosts) as d:
        first = d.host_key_fingerprint
    logins = len(dev.logins)
    dev.replace_key(host_key(1))
    d = _driver(platform, dev, known_hosts)
    with pytest.raises(HostKeyChanged) as exc:
        d.open()
    d.close()
    assert first in str(exc.value)
    assert len(dev.logins) == logins, "the password was offered to a device with a changed key"
