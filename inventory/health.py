"""Stability facts: unexpected shutdowns and other signs of failing hardware."""

from __future__ import annotations

from inventory.base import FactModel


class HealthFacts(FactModel):
    """Filled in by the capability that owns this section."""
