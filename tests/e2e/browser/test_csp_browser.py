"""Every page under the Content-Security-Policy in Chromium, and the API docs offline.

Pages are found from the app's route table (so a page added later is covered) and by following the
links of the pages visited, as an admin on a seeded collector with a published report. Any violation
Chromium reports (console, ``securitypolicyviolation`` events, the ``report-uri`` endpoint) fails.
"""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from collector.db import session_scope
from collector.http.access import route_table
from collector.services import vuln_data, vulns
from tests.collector.web.support import PASSWORD, make_app, seed, shot
from tests.helpers import free_port

pytestmark = pytest.mark.browser

SKIP_PATHS = {"/logout", "/metrics", "/healthz"}
# Routes that only ever answer a download, never a page.
DOWNLOADS = {"/planning/plan.{fmt}"}
PER_PATTERN = 3  # distinct URLs visited per route pattern (filters and ids vary; the page does not)

VULN = Path(__file__).resolve().parents[2] / "fixtures" / "vuln"


class Server:
    def __init__(self, url: str, app: Any, seeded: Any, extra: list[str]) -> None:
        self.url, self.app, self.seeded = url, app, seeded
        # Pages no link leads to: a share link's page, an htmx fragment.
        self.extra = extra


@pytest.fixture(scope="module")
def server(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    import uvicorn

    db = tmp_path_factory.mktemp("csp") / "wardwatch.db"
    shutil.copy(sqlite_template, db)
    app = make_app(db)
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    while not srv.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    seeded, extra = seed_every_kind(app, url)
    try:
        yield Server(url, app, seeded, extra)
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
        app.state.engine.dispose()


def seed_every_kind(app: Any, url: str) -> tuple[Any, list[str]]:
    """Data of every kind on a running collector: devices, findings, vulnerabilities, inspections (one
    published and signed, one waiting, one being filled in), a subscription, a share link, a polled router.
    Returns the seed and the pages no link leads to. (The pseudo-locale crawl seeds the same way.)"""
    from tests.collector.inspections.test_inspections import answer_all, create
    from tests.signing_pki import configure_signing

    # Publishing renders and signs a PDF: longer than httpx's 5 s on a loaded machine.
    with httpx.Client(base_url=url, timeout=120) as http:
        seeded = seed(app.state.engine, http)
        # Vulnerability data: the seeded PCs' programs have known vulnerabilities (the CVE pages).
        with session_scope(app.state.engine) as session:
            vuln_data.import_paths(session, paths=[VULN / "nvd", VULN / "kev"])
            vulns.evaluate_devices(session, due_days=app.state.settings.due_days)
        token = http.post("/api/v1/auth/token", data={"username": "admin", "password": PASSWORD}).json()
        admin = {"Authorization": f"Bearer {token['access_token']}"}
        insp = create(http, admin, site="PX-PHUCXA")
        answer_all(http, admin, insp, fail={"offline_backup"})
        assert (
            http.post(
                f"/api/v1/inspections/{insp['id']}/signoff",
                json={"signature_name": "Nguyễn Văn Quản"},
                headers=admin,
            ).status_code
            == 200
        )
        configure_signing(app.state.engine, app.state.settings.data_dir)
        pre = http.get(f"/api/v1/inspections/{insp['id']}/publication-preview", headers=admin).json()
        body = {"public": True, "previewed": pre["digest"]}
        assert (
            http.post(f"/api/v1/inspections/{insp['id']}/publish", json=body, headers=admin).status_code
            == 201
        )
        # One signed off and waiting to be published (its preview page).
        waiting = create(http, admin, site="PX-PHUCXA")
        answer_all(http, admin, waiting, fail={"offline_backup"})
        assert (
            http.post(
                f"/api/v1/inspections/{waiting['id']}/signoff",
                json={"signature_name": "Nguyễn Văn Quản"},
                headers=admin,
            ).status_code
            == 200
        )
        create(http, admin, site="XA-DONGANH")  # one still being filled in
        # A subscription, so its delivery-log page has something to show.
        subscription = {"event": "finding.opened", "channel": "email", "target": "it@phucxa.example"}
        assert (
            http.post("/api/v1/notifications/subscriptions", json=subscription, headers=admin).status_code
            == 201
        )
        slug = http.get("/api/v1/published", headers=admin).json()[0]["slug"]
        share = http.post(f"/api/v1/published/{slug}/share-links", headers=admin).json()["url"]
        # A polled router with two configuration versions (history and diff pages).
        from tests.collector.test_netdevices import BASE_CONFIG, netdev_report
        from tests.helpers import enroll, post_report, seed_site

        # The poller belongs to the site its device list names.
        poller = enroll(http, seed_site(app.state.engine, "P01"), "poller-pc")
        for config in (BASE_CONFIG, BASE_CONFIG + "!\n"):
            answer = post_report(http, poller, netdev_report(poller.agent_id, config))
            assert answer.status_code == 202
    router = answer.json()["device_id"]
    extra = [
        share,
        f"/inspections/{waiting['id']}/publish?public=on",
        f"/devices/{router}",
        f"/devices/{seeded.devices['pc-motcua-01']}/software?q=uni",
    ]
    return seeded, extra


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
    page = ctx.new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(f"{page.url}: {m.text}") if "Content Security Policy" in m.text else None,
    )
    ctx.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => {"
        " (window.__csp = window.__csp || []).push(e.violatedDirective + ' ' + e.blockedURI); });"
    )
    _log_in(page, server.url, "admin")
    patterns = _page_patterns(server.app)
    seen: dict[str, set[str]] = {p: set() for p, _ in patterns}
    queue = ["/", *[p for p, _ in patterns if "{" not in p], *server.extra, "/no-such-page"]
    visited: set[str] = set()
    while queue:
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
        page.goto(server.url + target)
        page.wait_for_load_state("networkidle")
        violations += [f"{target}: {v}" for v in page.evaluate("window.__csp || []")]
        for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))"):
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
