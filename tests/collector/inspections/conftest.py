"""Inspection test fixtures (defined in tests/collector/inspections/support.py)."""

from tests.collector.inspections.support import seeded  # noqa: F401  (the seeded fixture)
