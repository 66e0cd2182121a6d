"""Every page under the Content-Security-Policy in Chromium, and the API docs offline.

Pages are found from the app's route table (so a page added later is covered) and by following the
links of the pages visited, as an admin on a seeded collector with a published report. Any violation
Chromium reports (console, ``securitypolicyviolation`` events, the ``report-uri`` endpoint) fails.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from collector.http.access import route_table
from tests.collector.web.support import PASSWORD, make_app, seed_every_kind, shot
from tests.helpers import LiveServer

pytestmark = pytest.mark.browser

SKIP_PATHS = {"/logout", "/metrics", "/healthz"}
# Routes that only ever answer a download, never a page.
DOWNLOADS = {"/planning/plan.{fmt}"}
PER_PATTERN = 3  # distinct URLs visited per route pattern (filters and ids vary; the page does not)
TABS = 6  # pages loading at once


class Server:
    def __init__(self, url: str, app: Any, seeded: Any, extra: list[str]) -> None:
        self.url, self.app, self.seeded = url, app, seeded
        # Pages no link leads to: a share link's page, an htmx fragment.
        self.extra = extra


@pytest.fixture(scope="module")
def server(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    db = tmp_path_factory.mktemp("csp") / "wardwatch.db"
    shutil.copy(sqlite_template, db)
    app = make_app(db)
    with LiveServer(app) as url:
        seeded, extra = seed_every_kind(app, url)
        yield Server(url, app, seeded, extra)
        app.state.engine.dispose()


def _page_patterns(app: Any) -> list[tuple[str, re.Pattern[str]]]:
    """Every GET route that may answer a page: not the API, not static files, not machine paths."""
    out = []
    for path, methods, _dep in route_table(app):
        if "GET" not in methods or path.startswith(("/api/", "/static")) or path in SKIP_PATHS | DOWNLOADS:
            continue
        regex = (
            "^" + re.sub(r"\{[^}]+\}", "[^/]+", re.escape(path).replace(r"\{", "{").replace(r"\}", "}")) + "$"
        )
        out.append((path, re.compile(regex)))
    return out


def _log_in(page: Any, url: str, username: str) -> None:
    page.goto(f"{url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(f"{url}/")


def test_no_page_breaks_the_content_security_policy(server: Server, browser: Any) -> None:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    violations: list[str] = []
    ctx.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => {"
        " (window.__csp = window.__csp || []).push(e.violatedDirective + ' ' + e.blockedURI); });"
    )
    # Several tabs load at once: each page is judged only after the network has been idle for 500 ms
    # (htmx fragments load after the page), and those waits overlap instead of adding up.
    tabs = [ctx.new_page() for _ in range(TABS)]
    for tab in tabs:
        tab.on("console", _csp_console(tab, violations))
    page = tabs[0]
    _log_in(page, server.url, "admin")
    patterns = _page_patterns(server.app)
    seen: dict[str, set[str]] = {p: set() for p, _ in patterns}
    queue = ["/", *[p for p, _ in patterns if "{" not in p], *server.extra, "/no-such-page"]
    visited: set[str] = set()
    while queue:
        batch: list[str] = []
        while queue and len(batch) < TABS:
            target = queue.pop(0)
            if target in visited:
                continue
            visited.add(target)
            pattern = next((p for p, rx in patterns if rx.match(urlsplit(target).path)), None)
            if pattern is not None:
                if len(seen[pattern]) >= PER_PATTERN:
                    continue
                seen[pattern].add(target)
            head = ctx.request.get(server.url + target, max_redirects=0)
            if "text/html" not in head.headers.get("content-type", ""):
                continue  # a download (PDF, XLSX, CSV, JSON): not a page
            assert "unsafe-inline" not in head.headers["content-security-policy"]
            batch.append(target)
        for tab, target in zip(tabs[: len(batch)], batch, strict=True):
            tab.goto(server.url + target, wait_until="commit")
        for tab, target in zip(tabs[: len(batch)], batch, strict=True):
            tab.wait_for_load_state("networkidle")
            violations += [f"{target}: {v}" for v in tab.evaluate("window.__csp || []")]
            for href in tab.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))"):
                parts = urlsplit(href)
                if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path in SKIP_PATHS:
                    continue
                if parts.path.startswith(("/static", "/api/")):
                    continue
                queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    shot(page, "csp-last-page")
    # A role that may not see a page gets the error page: under the same policy.
    viewer = browser.new_context().new_page()
    viewer.on(
        "console",
        lambda m: violations.append(f"403: {m.text}") if "Content Security Policy" in m.text else None,
    )
    _log_in(viewer, server.url, "viewer-a")
    viewer.goto(f"{server.url}/admin/users")
    viewer.wait_for_load_state("networkidle")
    reported = server.app.state.metrics.snapshot().get(("csp", "violations"), 0)
    assert violations == [], "\n".join(violations[:40])
    assert reported == 0
    unreached = sorted(p for p, urls in seen.items() if not urls)
    assert unreached == [], f"pages never reached from the route table or a link: {unreached}"
    ctx.close()


def _csp_console(tab: Any, violations: list[str]) -> Any:
    def listen(message: Any) -> None:
        if "Content Security Policy" in message.text:
            violations.append(f"{tab.url}: {message.text}")

    return listen


def test_api_docs_render_offline(server: Server, browser: Any) -> None:
    ctx = browser.new_context()
    page = ctx.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(f"{server.url}/docs")
    assert page.url.startswith(f"{server.url}/login")  # a login first: the docs are not public
    page.fill("input[name=username]", "tech")
    page.fill("input[name=password]", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(f"{server.url}/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=20000)
    assert "wardwatch collector" in page.locator(".swagger-ui .info .title").inner_text()
    page.wait_for_selector(".opblock-tag", timeout=20000)
    shot(page, "docs-swagger", full_page=False)  # the whole document is pages long
    page.goto(f"{server.url}/redoc")
    page.wait_for_selector("#redoc h1", timeout=20000)
    assert "wardwatch collector" in page.locator("#redoc h1").first.inner_text()
    shot(page, "docs-redoc", full_page=False)
    html = httpx.get(f"{server.url}/docs", cookies={c["name"]: c["value"] for c in ctx.cookies()}).text
    assert not re.search(r"https?://(?!127\.0\.0\.1)", html)
    outside = [u for u in requests if not u.startswith(server.url) and not u.startswith(("data:", "blob:"))]
    assert outside == [] and violations == []
    ctx.close()
