"""When the notification work runs: the one module that schedules it (to move onto a job queue later).

``run_once`` does one round: dispatch new events, send what is due, send digests that are due, and,
every ``notify_scan_minutes``, scan for time-based events and prune old rows. ``Sender`` runs rounds
in a background thread of each collector process every ``notify_interval_seconds``; the rows are
claimed (see ``notify_delivery``), so several processes share the work and none sends twice.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from collector.models.types import utcnow
from collector.services import notify_delivery, notify_scan
from collector.settings import CollectorSettings

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
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def run_once(self, now: datetime | None = None) -> RoundResult:
        now = now or utcnow()
        out = RoundResult()
        if self.last_scan is None or now - self.last_scan >= timedelta(
            minutes=self.settings.notify_scan_minutes
        ):
            out.scanned = scan(self.engine, self.settings, now=now)
            self.last_scan = now
        out.dispatched = notify_delivery.dispatch_events(self.engine, self.settings, now=now)
        out.tried = notify_delivery.deliver_due(self.engine, self.settings, now=now)
        out.digests = notify_delivery.send_digests(self.engine, self.settings, now=now)
        return out

    def _loop(self) -> None:
        interval = self.settings.notify_interval_seconds
        while not self._stop.wait(interval):
            try:
                self.run_once()
            except Exception:  # a bad round (database restarting) must not end the sender
                log.exception("notification round failed; trying again in %s s", interval)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="wardwatch-notify", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


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


def start_sender(engine: Engine, settings: CollectorSettings) -> Sender | None:
    """The background sender of this process, or None when this process sends nothing."""
    if settings.notify_interval_seconds <= 0:
        return None
    sender = Sender(engine, settings)
    sender.start()
    return sender
