"""Network device test fixtures: simulated devices (tests/inventory/netdevices/sshsim.py), known hosts."""

import pytest

pytest.importorskip("paramiko")
pytest.importorskip("netmiko")

from tests.inventory.netdevices.support import known_hosts, sim  # noqa: F401  (fixtures)
