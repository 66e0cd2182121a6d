"""A polled network device: facts, interfaces and its scrubbed running configuration."""

from __future__ import annotations

from inventory.base import FactModel


class NetworkDeviceFacts(FactModel):
    """Filled in by the capability that owns this section."""
