"""A local HTTP server that answers like the NVD CVE API 2.0 and the CISA KEV feed, from records the
test gives it; it logs every request (time, parameters, API key header) and can fail on purpose."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


@dataclass
class Logged:
    at: float
    path: str
    params: dict[str, str]
    api_key: str | None


@dataclass
class FeedState:
    records: list[dict[str, Any]]
    kev: dict[str, Any]
    max_page: int = 4  # the server's own cap on resultsPerPage, to make paging happen
    fail_start_index: set[int] = field(default_factory=set)  # answer 503 for these startIndex values
    log: list[Logged] = field(default_factory=list)


def _when(value: str) -> datetime:
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=datetime.now().astimezone().tzinfo)


def _nvd_time(record: dict[str, Any]) -> datetime:
    from datetime import UTC

    return datetime.fromisoformat(record["lastModified"]).replace(tzinfo=UTC)


def make_handler(state: FeedState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep the test output clean
            pass

        def _send(self, code: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urlparse(self.path)
            params = {k: v[0] for k, v in parse_qs(url.query).items()}
            state.log.append(Logged(time.monotonic(), url.path, params, self.headers.get("apiKey")))
            if url.path == "/kev.json":
                self._send(200, state.kev)
                return
            if url.path != "/rest/json/cves/2.0":
                self._send(404, {"message": "not found"})
                return
            start = int(params.get("startIndex", 0))
            if start in state.fail_start_index:
                self._send(503, {"message": "service unavailable"})
                return
            size = min(int(params.get("resultsPerPage", 2000)), state.max_page)
            records = sorted(state.records, key=lambda r: r["id"])
            if "lastModStartDate" in params:
                lo, hi = _when(params["lastModStartDate"]), _when(params["lastModEndDate"])
                records = [r for r in records if lo <= _nvd_time(r) <= hi]
            page = records[start : start + size]
            self._send(
                200,
                {
                    "resultsPerPage": len(page),
                    "startIndex": start,
                    "totalResults": len(records),
                    "format": "NVD_CVE",
                    "version": "2.0",
                    "timestamp": "2026-12-01T00:00:00.000",
                    "vulnerabilities": [{"cve": r} for r in page],
                },
            )

    return Handler


class FeedServer:
    def __init__(self, state: FeedState) -> None:
        self.state = state
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> FeedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
