"""The wire contract's version numbers, in the standard library only.

``inventory.report`` (pydantic) validates against them; the agent's long-running supervisor builds
heartbeats with them without importing pydantic; the collector answers with them. Additive changes
keep ``SCHEMA_VERSION``; a breaking change bumps it and the collector accepts the two latest versions.
"""

from __future__ import annotations

SCHEMA_VERSION = 1
SUPPORTED_SCHEMA_VERSIONS: frozenset[int] = frozenset({1})
