"""Certificates found on the host, TLS endpoints checked, signed documents verified."""

from __future__ import annotations

from inventory.base import FactModel


class CertificateFacts(FactModel):
    """Filled in by the capability that owns this section."""
