"""Simulated devices (tests/devices/sshsim.py) and a known-hosts store per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("paramiko")
pytest.importorskip("netmiko")

from inventory.netdevices.hostkeys import KnownHosts
from tests.devices.sshsim import SimDevice


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
