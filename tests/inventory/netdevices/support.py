"""What the network device tests share: simulated devices (a fixture), the device per platform of the
contract suite, its target, a known-hosts store per test. Used by tests/inventory/netdevices and
tests/agent/netdevices (their conftest.py registers the fixtures)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from inventory.netdevices.contract import DeviceTarget, Timeouts
from inventory.netdevices.hostkeys import KnownHosts
from tests.inventory.netdevices.sshsim import SimDevice

# One device model per platform for the shared contract suite.
CONTRACT_PROFILES = {
    "cisco_ios": "ios_c9200",
    "huawei_vrp": "vrp_ar6280",
    "mikrotik_routeros": "routeros_l009",
    "juniper_junos": "junos_srx300",
}


def target_for(dev: SimDevice, *, platform: str | None = None, username: str | None = None) -> DeviceTarget:
    return DeviceTarget(
        name=f"sim-{dev.port}",
        host="127.0.0.1",
        port=dev.port,
        platform=platform or dev.platform,
        username=username or dev.username,
        site="XA-A",
    )


FAST = Timeouts(connect=5, command=5)


@pytest.fixture
def sim() -> Iterator:
    """A factory of simulated devices, all closed at the end of the test."""
    made: list[SimDevice] = []

    def make(profile: str, **kwargs: object) -> SimDevice:
        dev = SimDevice.from_profile(profile, **kwargs)
        made.append(dev)
        return dev

    yield make
    for dev in made:
        dev.close()


@pytest.fixture
def known_hosts(tmp_path: Path) -> KnownHosts:
    return KnownHosts(tmp_path / "known_hosts")
