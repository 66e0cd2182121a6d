"""``--online`` against a real local HTTP server serving NVD API 2.0 pages and a KEV catalog: paging,
the rate limit (5 requests per window without a key), the API key header, incremental windows by
lastModified, and resuming an interrupted fetch where it stopped. Never the internet."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from collector.models.vulns import Cve, KevEntry, VulnSource
from collector.services import vuln_data
from collector.vulns.fetch import Fetcher, FetchError, RateLimiter, nvd_date
from tests.collector.vulns.nvd_server import FeedServer, FeedState
from tests.collector.vulns.support import KEV_FILE, NVD_DIR

T1 = datetime(2026, 11, 1, tzinfo=UTC)


def raw_records() -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(NVD_DIR.glob("CVE-*.json"))]


@pytest.fixture
def feeds():  # type: ignore[no-untyped-def]
    state = FeedState(records=raw_records(), kev=json.loads(KEV_FILE.read_text(encoding="utf-8")))
    with FeedServer(state) as server:
        yield server


def fetcher(
    server: FeedServer, client: httpx.Client, *, api_key: str | None = None, window: float = 0.6
) -> Fetcher:
    return Fetcher(
        client=client,
        nvd_url=f"{server.base}/rest/json/cves/2.0",
        kev_url=f"{server.base}/kev.json",
        api_key=api_key,
        limiter=RateLimiter.for_nvd(api_key, window=window),
        retries=1,
        retry_pause=0.0,
    )


def nvd_requests(server: FeedServer) -> list[Any]:
    return [e for e in server.state.log if e.path.endswith("/cves/2.0")]


def test_first_fetch_pages_through_everything_within_the_rate_limit(app, feeds: FeedServer) -> None:  # type: ignore[no-untyped-def]
    with httpx.Client() as client:
        out = vuln_data.fetch_online(app.state.engine, fetcher=fetcher(feeds, client), now=T1)
    assert (out.pages, out.nvd_changed, out.kev_changed) == (8, 30, 1404)
    reqs = nvd_requests(feeds)
    assert [int(r.params["startIndex"]) for r in reqs] == [0, 4, 8, 12, 16, 20, 24, 28]
    assert all("lastModStartDate" not in r.params and r.api_key is None for r in reqs)
    # No key: at most 5 requests in any window; the 6th waited for the first to leave the window (0.6 s
    # by the client's clock; the server's arrival times may shrink it by the first request's delay on a
    # busy machine, never to the few milliseconds six unthrottled requests take).
    assert reqs[5].at - reqs[0].at >= 0.5
    with Session(app.state.engine) as session:
        assert len(session.exec(select(Cve)).all()) == 30 and session.get(KevEntry, "CVE-2023-38831")
        src = session.get(VulnSource, "nvd")
        assert src is not None and src.fetched_until == T1 and src.cursor is None


def test_later_fetches_ask_only_for_what_changed_and_send_the_key(app, feeds: FeedServer) -> None:  # type: ignore[no-untyped-def]
    with httpx.Client() as client:
        vuln_data.fetch_online(app.state.engine, fetcher=fetcher(feeds, client), now=T1)
        changed = copy.deepcopy(feeds.state.records[-1])  # CVE-2024-4671
        changed["lastModified"] = "2026-11-15T08:00:00.000"
        changed["configurations"][0]["nodes"][0]["cpeMatch"][0]["versionEndExcluding"] = "124.0.6367.999"
        feeds.state.records[-1] = changed
        feeds.state.log.clear()
        t2 = datetime(2026, 12, 1, tzinfo=UTC)
        out = vuln_data.fetch_online(
            app.state.engine, fetcher=fetcher(feeds, client, api_key="s3cret-key"), now=t2, kev=False
        )
    (req,) = nvd_requests(feeds)
    assert (req.params["lastModStartDate"], req.params["lastModEndDate"]) == (nvd_date(T1), nvd_date(t2))
    assert req.api_key == "s3cret-key" and "s3cret" not in str(req.params)
    assert (out.pages, out.nvd_changed) == (1, 1)
    # More than 120 days since the last fetch: NVD's limit, so two windows.
    feeds.state.log.clear()
    t3 = t2 + timedelta(days=200)
    with httpx.Client() as client:
        vuln_data.fetch_online(app.state.engine, fetcher=fetcher(feeds, client), now=t3, kev=False)
    windows = [(r.params["lastModStartDate"], r.params["lastModEndDate"]) for r in nvd_requests(feeds)]
    assert windows == [
        (nvd_date(t2), nvd_date(t2 + timedelta(days=120))),
        (nvd_date(t2 + timedelta(days=120)), nvd_date(t3)),
    ]
    assert RateLimiter.for_nvd("k").limit == 50 and RateLimiter.for_nvd(None).limit == 5


def test_an_interrupted_fetch_resumes_where_it_stopped(app, feeds: FeedServer) -> None:  # type: ignore[no-untyped-def]
    feeds.state.fail_start_index = {12}
    with httpx.Client() as client, pytest.raises(FetchError, match="HTTP 503"):
        vuln_data.fetch_online(app.state.engine, fetcher=fetcher(feeds, client), now=T1, kev=False)
    with Session(app.state.engine) as session:
        assert len(session.exec(select(Cve)).all()) == 12  # three pages kept
        src = session.get(VulnSource, "nvd")
        assert (
            src is not None and src.cursor and src.cursor["start_index"] == 12 and src.fetched_until is None
        )
    feeds.state.fail_start_index = set()
    feeds.state.log.clear()
    with httpx.Client() as client:
        vuln_data.fetch_online(
            app.state.engine, fetcher=fetcher(feeds, client), now=T1 + timedelta(hours=1), kev=False
        )
    assert [int(r.params["startIndex"]) for r in nvd_requests(feeds)] == [12, 16, 20, 24, 28]
    with Session(app.state.engine) as session:
        assert len(session.exec(select(Cve)).all()) == 30
        src = session.get(VulnSource, "nvd")
        # Complete up to when the interrupted fetch began, not when it was resumed.
        assert src is not None and src.cursor is None and src.fetched_until == T1


def test_the_command_imports_files_and_fetches_online(
    sqlite_url: str, feeds: FeedServer, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    import collector.commands  # noqa: F401  (registers the command groups)
    from collector.cli import app as cli

    runner = CliRunner()
    r = runner.invoke(
        cli, ["vuln", "update", "--from", str(NVD_DIR / "CVE-2023-38831.json"), "--database-url", sqlite_url]
    )
    assert r.exit_code == 0, r.output
    assert (
        "1 NVD records (1 new or changed)" in r.output and "not endorsed or certified by the NVD" in r.output
    )
    r = runner.invoke(
        cli, ["vuln", "update", "--from", str(NVD_DIR / "nope.json"), "--database-url", sqlite_url]
    )
    assert r.exit_code == 2 and "no such file" in r.output
    monkeypatch.setenv("WARDWATCH_NVD_RATE_WINDOW", "0.2")
    args = [
        "vuln",
        "update",
        "--online",
        "--nvd-url",
        f"{feeds.base}/rest/json/cves/2.0",
        "--kev-url",
        f"{feeds.base}/kev.json",
    ]
    r = runner.invoke(cli, [*args, "--database-url", sqlite_url])
    assert r.exit_code == 0, r.output
    assert "fetched 8 NVD pages (29 records new or changed), 1404 KEV entries changed" in r.output
    r = runner.invoke(cli, ["vuln", "unmapped", "--database-url", sqlite_url])
    assert r.exit_code == 0 and "0 unmapped names" in r.output
