"""What the device tests share: the simulated device per platform of the contract suite, its target."""

from __future__ import annotations

from inventory.netdevices.contract import DeviceTarget, Timeouts
from tests.devices.sshsim import SimDevice

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
