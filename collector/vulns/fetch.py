"""Download the NVD CVE API 2.0 and the CISA KEV catalog, politely.

- NVD allows 5 requests per rolling 30 seconds without an API key and 50 with one; ``RateLimiter``
  keeps to that (the key travels in the ``apiKey`` header, never in a URL or a log line).
- Incremental: after a first complete download, each fetch asks only for records modified since the
  last one (``lastModStartDate``/``lastModEndDate``, in windows of at most 120 days as NVD requires).
- Resumable: the position (window and ``startIndex``) is handed to ``save_cursor`` after every page,
  so a fetch cut short continues where it stopped.
- A 403/429/5xx answer or a broken connection is retried with a pause (``Retry-After`` when given).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

NVD_URL = "https://services.nvd.nist.gov/rest/json/cves/2.0"
KEV_URL = "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json"
MAX_WINDOW = timedelta(days=120)
PAGE_SIZE = 2000


class FetchError(RuntimeError):
    """The feed could not be fetched; the message names the URL (without secrets) and the reason."""


@dataclass
class RateLimiter:
    """At most ``limit`` requests in any ``window`` seconds."""

    limit: int
    window: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        self._sent: deque[float] = deque()

    @classmethod
    def for_nvd(cls, api_key: str | None, window: float = 30.0) -> RateLimiter:
        return cls(limit=50 if api_key else 5, window=window)

    def wait(self) -> None:
        while True:
            now = self.clock()
            while self._sent and now - self._sent[0] >= self.window:
                self._sent.popleft()
            if len(self._sent) < self.limit:
                self._sent.append(now)
                return
            self.sleep(self.window - (now - self._sent[0]) + 0.01)


def nvd_date(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+00:00")


@dataclass
class Fetcher:
    client: httpx.Client
    nvd_url: str = NVD_URL
    kev_url: str = KEV_URL
    api_key: str | None = None
    limiter: RateLimiter | None = None
    retries: int = 4
    retry_pause: float = 6.0
    page_size: int = PAGE_SIZE
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        if self.limiter is None:
            self.limiter = RateLimiter.for_nvd(self.api_key)

    def _get(self, url: str, params: dict[str, Any] | None, *, limited: bool) -> Any:
        headers = {"apiKey": self.api_key} if self.api_key and limited else {}
        last = ""
        for attempt in range(self.retries + 1):
            if limited and self.limiter is not None:
                self.limiter.wait()
            try:
                r = self.client.get(url, params=params, headers=headers)
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
                r = None
            if r is not None:
                if r.status_code == 200:
                    try:
                        return r.json()
                    except ValueError:
                        raise FetchError(f"{url}: the answer is not JSON") from None
                last = f"HTTP {r.status_code}"
                if r.status_code not in (403, 429, 500, 502, 503, 504):
                    raise FetchError(f"{url}: {last}")
            if attempt < self.retries:
                pause = self.retry_pause * (attempt + 1)
                retry_after = r.headers.get("Retry-After") if r is not None else None
                if retry_after and retry_after.isdigit():
                    pause = min(float(retry_after), 120.0)
                self.sleep(pause)
        raise FetchError(f"{url}: gave up after {self.retries + 1} attempts ({last})")

    def kev(self) -> Any:
        return self._get(self.kev_url, None, limited=False)

    def nvd(
        self,
        *,
        since: datetime | None,
        until: datetime,
        cursor: dict[str, Any] | None,
        on_page: Callable[[Any, dict[str, Any] | None], None],
    ) -> datetime:
        """Fetch every record modified in (since, until] (everything when ``since`` is None), page by
        page, resuming at ``cursor``. ``on_page(page, cursor_after)`` stores a page together with the
        position after it (None once complete). Returns the time the data is complete up to."""
        windows: list[tuple[datetime | None, datetime | None]] = []
        if since is None:
            windows.append((None, None))
        else:
            lo = since
            while lo < until:
                hi = min(lo + MAX_WINDOW, until)
                windows.append((lo, hi))
                lo = hi
        resume_at = 0
        if cursor:
            saved = (
                datetime.fromisoformat(cursor["start"]) if cursor.get("start") else None,
                datetime.fromisoformat(cursor["end"]) if cursor.get("end") else None,
            )
            if saved in windows:
                windows = windows[windows.index(saved) :]
                resume_at = int(cursor.get("start_index", 0))
        for start, end in windows:
            index = resume_at
            resume_at = 0
            while True:
                params: dict[str, Any] = {"resultsPerPage": self.page_size, "startIndex": index}
                if start is not None and end is not None:
                    params["lastModStartDate"] = nvd_date(start)
                    params["lastModEndDate"] = nvd_date(end)
                page = self._get(self.nvd_url, params, limited=True)
                if not isinstance(page, dict) or not isinstance(page.get("vulnerabilities"), list):
                    raise FetchError(f"{self.nvd_url}: the answer is not an NVD CVE API 2.0 page")
                got = len(page["vulnerabilities"])
                total = int(page.get("totalResults", 0))
                index += got
                if got and index < total:
                    on_page(page, _position(start, end, index))
                    continue
                on_page(page, _next(windows, (start, end)))
                break
        return until


def _next(
    windows: list[tuple[datetime | None, datetime | None]], current: tuple[datetime | None, datetime | None]
) -> dict[str, Any] | None:
    i = windows.index(current)
    if i + 1 >= len(windows):
        return None
    return _position(*windows[i + 1], 0)


def _position(start: datetime | None, end: datetime | None, index: int) -> dict[str, Any]:
    return {
        "start": start.isoformat() if start else None,
        "end": end.isoformat() if end else None,
        "start_index": index,
    }
