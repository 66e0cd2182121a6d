"""LAN scanning: interface or CIDR, ports, rate limit, safety caps."""

from __future__ import annotations

from pydantic import BaseModel


class LanConfig(BaseModel):
    """Filled in by the capability that owns it; the agent's TOML has a [lan] table for it."""
