"""What an ingest hook receives: the stored report's context inside the ingest transaction.

Its own module so that the hooks (``collector.ingest_hooks``) and the ingest service that runs them
both import it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from collector.models.core import Agent, Device, DeviceSection
from collector.settings import CollectorSettings
from inventory.report import CheckResult, Report


@dataclass
class IngestContext:
    session: Session
    settings: CollectorSettings
    agent: Agent
    device: Device
    report: Report
    # Sections whose content changed with this report: name -> new JSON data.
    changed_sections: dict[str, Any] = field(default_factory=dict)
    # Their values before this report (absent: the device had no such section yet).
    previous_sections: dict[str, Any] = field(default_factory=dict)
    results: list[CheckResult] = field(default_factory=list)
    # Sections the report carried unchanged (left out before parsing): name -> hash.
    skipped_sections: dict[str, str] = field(default_factory=dict)
    # Stored results this report inserted, changed or removed (0: derived work from results can wait).
    results_changed: int = 0
    # (check_id, target) of the results this report carried exactly as they were stored.
    unchanged_results: set[tuple[str, str]] = field(default_factory=set)

    def section(self, name: str) -> Any:
        """The device's current value of a section (changed now or stored before), or None."""
        if name in self.changed_sections:
            return self.changed_sections[name]
        row = self.session.get(DeviceSection, (self.device.id, name))
        return row.data if row else None
