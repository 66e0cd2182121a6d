"""Per-module intervals with splay, and the backoff between delivery attempts.

Each module (heartbeat, inventory, checks, devices) has its own interval; its next run is shifted
by a random 0..splay seconds, at most a tenth of the interval, so a fleet restarted together (a
power cut in a commune) does not report in one burst. Times are wall-clock epoch seconds so the
rhythm survives a restart (the last runs are kept in ``status.json``).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.protocol import SupervisorSettings


class Schedule:
    def __init__(
        self, intervals: Mapping[str, float], *, splay: float = 0.0, rng: random.Random | None = None
    ) -> None:
        self.intervals = dict(intervals)
        self.splay = splay
        self._rng = rng or random.Random()
        self.next_at: dict[str, float] = {}

    def _offset(self, name: str) -> float:
        limit = min(self.splay, self.intervals[name] / 10)
        return self._rng.uniform(0, limit) if limit > 0 else 0.0

    def run_now(self, name: str, now: float) -> None:
        self.next_at[name] = now

    def resume(self, name: str, last_run: float | None, now: float) -> None:
        """Next run after a restart: one interval after the last run, or now (plus splay) if never run."""
        if last_run is None or last_run > now:
            self.next_at[name] = now + self._offset(name)
        else:
            self.next_at[name] = max(now, last_run + self.intervals[name])

    def done(self, name: str, now: float) -> None:
        self.next_at[name] = now + self.intervals[name] + self._offset(name)

    def due(self, now: float) -> list[str]:
        return sorted(name for name, at in self.next_at.items() if at <= now)

    def next_wakeup(self) -> float:
        return min(self.next_at.values()) if self.next_at else float("inf")


class Backoff:
    """Exponential backoff with full jitter: wait a random 0..min(cap, base * 2**failures) seconds.

    A ``Retry-After`` from the collector replaces the draw (up to ``retry_after_max``).
    """

    def __init__(
        self, *, base: float, cap: float, retry_after_max: float, rng: random.Random | None = None
    ) -> None:
        self.base, self.cap, self.retry_after_max = base, cap, retry_after_max
        self.failures = 0
        self._rng = rng or random.Random()

    def next_delay(self, retry_after: float | None = None) -> float:
        ceiling = min(self.cap, self.base * (2 ** min(self.failures, 30)))
        self.failures += 1
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.retry_after_max)
        return self._rng.uniform(0, ceiling)

    def reset(self) -> None:
        self.failures = 0

    @classmethod
    def from_settings(cls, settings: SupervisorSettings) -> Backoff:
        d = settings.delivery
        return cls(base=d.backoff_base, cap=d.backoff_cap, retry_after_max=d.retry_after_max)
