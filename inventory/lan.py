"""A LAN scan: hosts discovered, DHCP servers, ARP observations, risky services."""

from __future__ import annotations

from inventory.base import FactModel


class LanScanFacts(FactModel):
    """Filled in by the capability that owns this section."""
