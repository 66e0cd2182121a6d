"""One platform list: every name in it has its parser module and its driver, and every place that
accepts a platform (the agent's device list, the collector's managed list) takes exactly these."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agent.netdevices.config import DeviceEntry
from inventory.netdevices.drivers import DRIVERS
from inventory.netdevices.facts import PLATFORM_CHOICES, PLATFORMS
from inventory.netdevices.platforms import platform_module


def test_every_platform_has_a_module_and_a_driver() -> None:
    assert set(DRIVERS) == set(PLATFORMS)
    for name in PLATFORMS:
        assert name == platform_module(name).PLATFORM
    assert ("auto", *PLATFORMS) == PLATFORM_CHOICES


@pytest.mark.parametrize("platform", PLATFORM_CHOICES)
def test_the_device_list_accepts_every_platform(platform: str) -> None:
    entry = DeviceEntry(name="r1", host="192.0.2.1", platform=platform, username="ww", password_env="X")
    assert entry.platform == platform


def test_the_device_list_refuses_an_unknown_platform() -> None:
    with pytest.raises(ValidationError, match="cisco_ios"):
        DeviceEntry(name="r1", host="192.0.2.1", platform="cisco_nxos", username="ww", password_env="X")


def test_the_collector_takes_the_same_list() -> None:
    pytest.importorskip("fastapi")
    from collector.api.routers.netdevices import ManagedIn

    for platform in PLATFORM_CHOICES:
        assert ManagedIn(site="A", name="r1", host="h", platform=platform, username="u").platform == platform
    with pytest.raises(ValidationError):
        ManagedIn(site="A", name="r1", host="h", platform="cisco_nxos", username="u")
