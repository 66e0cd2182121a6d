"""Process counters and histograms exposed at /metrics in the Prometheus text format."""

from __future__ import annotations

import bisect
import threading
from collections import Counter

# Seconds; the report target is p95 <= 0.25 s, so the buckets are finest around it.
INGEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Reasons a report is refused, by answer: the ``reason`` of ``wardwatch_reports_refused_total``
# (a 409 is ``needs_full`` for an unknown delta base, ``report_id_taken`` for another agent's id).
REFUSAL_REASONS = {
    400: "malformed",
    403: "forbidden",
    409: "conflict",
    413: "too_large",
    415: "unsupported_encoding",
    422: "invalid",
    503: "unavailable",  # the ingest process died holding the report (sent again)
}


class Histogram:
    """Cumulative buckets, sum and count, as Prometheus expects (``le`` upper bounds, ``+Inf`` last)."""

    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)  # per bucket, not cumulative; the last is +Inf
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.buckets, value)] += 1
        self.sum += value
        self.count += 1

    def lines(self, name: str) -> list[str]:
        out, running = [], 0
        for bound, n in zip((*self.buckets, float("inf")), self.counts, strict=True):
            running += n
            le = "+Inf" if bound == float("inf") else repr(bound)
            out.append(f'{name}_bucket{{le="{le}"}} {running}')
        out += [f"{name}_sum {self.sum:.6f}", f"{name}_count {self.count}"]
        return out


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()
        self._histograms: dict[str, Histogram] = {"ingest_seconds": Histogram(INGEST_BUCKETS)}

    def inc(self, name: str, label: str = "") -> None:
        with self._lock:
            self._counts[(name, label)] += 1

    def observe(self, name: str, value: float) -> None:
        with self._lock:
            self._histograms[name].observe(value)

    def snapshot(self) -> dict[tuple[str, str], int]:
        with self._lock:
            return dict(self._counts)

    def histogram_lines(self, name: str, exposed_as: str) -> list[str]:
        with self._lock:
            return self._histograms[name].lines(exposed_as)
