"""When the notification work runs: two jobs of the collector's scheduler (``collector.scheduler``).

- ``notify.deliver``, every ``notify_interval_seconds``: dispatch new events, send what is due, send
  digests that are due;
- ``notify.scan``, every ``notify_scan_minutes``: look for time-based events (certificates expiring,
  agents silent) and prune old rows.

The scheduler runs each once per interval across all collector processes; the delivery rows are
claimed as well (see ``notify_delivery``), so even two rounds at once never send twice.
``Sender.run_once`` does one whole round at a given time (tests, and a one-off run by hand).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine
from sqlmodel import Session

from collector.models.types import utcnow
from collector.services import notify_delivery, notify_scan
from collector.settings import CollectorSettings

if TYPE_CHECKING:
    from collector.scheduler import Scheduler

log = logging.getLogger(__name__)


@dataclass
class RoundResult:
    dispatched: int = 0
    tried: int = 0
    digests: int = 0
    scanned: int = 0


@dataclass
class Sender:
    engine: Engine
    settings: CollectorSettings
    last_scan: datetime | None = None

    def run_once(self, now: datetime | None = None) -> RoundResult:
        now = now or utcnow()
        out = RoundResult()
        if self.last_scan is None or now - self.last_scan >= timedelta(
            minutes=self.settings.notify_scan_minutes
        ):
            out.scanned = scan(self.engine, self.settings, now=now)
            self.last_scan = now
        out.dispatched, out.tried, out.digests = deliver(self.engine, self.settings, now=now)
        return out


def deliver(
    engine: Engine, settings: CollectorSettings, *, now: datetime | None = None
) -> tuple[int, int, int]:
    """One delivery round: (events dispatched, deliveries tried, digests sent)."""
    now = now or utcnow()
    return (
        notify_delivery.dispatch_events(engine, settings, now=now),
        notify_delivery.deliver_due(engine, settings, now=now),
        notify_delivery.send_digests(engine, settings, now=now),
    )


def scan(engine: Engine, settings: CollectorSettings, *, now: datetime) -> int:
    """Time-based events and housekeeping, in one transaction."""
    from collector.services.history import prune_history

    with Session(engine) as session:
        found = notify_scan.scan_certificates(session, now=now) + notify_scan.scan_silent_agents(
            session, now=now
        )
        prune_history(session, older_than=now - timedelta(days=settings.history_retention_days))
        session.commit()
    notify_delivery.prune(engine, older_than=now - timedelta(days=settings.notify_retention_days))
    return found


def register_jobs(scheduler: Scheduler, settings: CollectorSettings) -> None:
    """The notification jobs; none when ``notify_interval_seconds`` is 0 (this process sends nothing)."""
    if settings.notify_interval_seconds <= 0:
        return
    scheduler.register(
        "notify.deliver", timedelta(seconds=settings.notify_interval_seconds), lambda e: deliver(e, settings)
    )
    scheduler.register(
        "notify.scan",
        timedelta(minutes=settings.notify_scan_minutes),
        lambda e: scan(e, settings, now=utcnow()),
    )
