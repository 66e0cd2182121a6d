"""Host security posture: firewall, updates, antivirus, accounts, policies, remote access,
encryption, time sync, Secure Boot and TPM."""

from __future__ import annotations

from inventory.base import FactModel


class SecurityFacts(FactModel):
    """Filled in by the capability that owns this section."""
