"""Network device polling: the device list file, the credential store, concurrency and timeouts."""

from __future__ import annotations

from pydantic import BaseModel


class DevicesConfig(BaseModel):
    """Filled in by the capability that owns it; the agent's TOML has a [devices] table for it."""
