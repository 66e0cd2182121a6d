"""Certificate discovery and validation: folders, TLS endpoints, signed documents, trust anchors."""

from __future__ import annotations

from pydantic import BaseModel


class CertsConfig(BaseModel):
    """Filled in by the capability that owns it; the agent's TOML has a [certs] table for it."""
