"""The console for a city in Debian's Chromium (Playwright, headless), at desktop and phone width:
the overview worst first with its trends, the global search, a table sorted, paged and exported, the
device page's tabs, and no page cut at phone width. Screenshots land in tests/artifacts/ (console-*).

The collector is a real one served by uvicorn on a migrated SQLite file; the city's PCs arrive as real
reports from enrolled agents (tests/collector/console/world.py).
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.collector.console.world import PASSWORD, City, build
from tests.collector.web.support import shot
from tests.helpers import free_port

pytestmark = pytest.mark.browser

DESKTOP = (1366, 900)
PHONE = (390, 844)


@dataclass
class Console:
    url: str
    city: City
    many_programs: int  # a device with 60 programs: the software tab pages


@pytest.fixture(scope="module")
def console(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    import httpx
    import uvicorn

    from collector.app import create_app
    from collector.db import session_scope
    from collector.localtime import now_utc
    from collector.models.core import Site
    from collector.services import snapshots
    from collector.services.enrollment import create_enroll_secret
    from collector.services.users import create_user
    from inventory.facts import SoftwareFacts
    from tests.helpers import enroll, host_report, post_report

    tmp = tmp_path_factory.mktemp("console")
    shutil.copy(sqlite_template, tmp / "wardwatch.db")
    from collector.settings import CollectorSettings

    app = create_app(
        CollectorSettings(database_url=f"sqlite:///{tmp / 'wardwatch.db'}", data_dir=tmp / "data")
    )
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    engine = app.state.engine
    with httpx.Client(base_url=url, timeout=30) as http:
        city = build(http, engine)
        with session_scope(engine) as s:
            create_user(s, username="tech", password=PASSWORD, role="technician")
            secret = create_enroll_secret(s, site_code="X03")
            # Trends: a month and three ago the communes stood elsewhere than today.
            for site in s.exec(__import__("sqlmodel").select(Site)).all():
                snapshots.record_site(s, site_id=site.id or 0, now=now_utc() - timedelta(days=80))
        agent = enroll(http, secret, "pc-x03-kho")
        programs = [
            SoftwareFacts(name=f"Phần mềm {n:02d}", version=f"1.{n}", vendor="Nhà phát hành")
            for n in range(60)
        ]
        report = host_report(
            agent.agent_id, hostname="pc-x03-kho", machine_id="kho", serial="SN-KHO", software=programs
        )
        answer = post_report(http, agent, report)
        assert answer.status_code == 202, answer.text
        many = answer.json()["device_id"]
    try:
        yield Console(url=url, city=city, many_programs=many)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()


def log_in(page: Any, console: Console, username: str = "admin") -> None:
    page.goto(f"{console.url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(f"{console.url}/")


def no_sideways_scroll(page: Any, width: int) -> None:
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{page.url}: the page is {scroll}px wide at {width}px"


def test_overview_worst_first_and_drill_down(console: Console, new_page: Any) -> None:
    page = new_page(*DESKTOP)
    log_in(page, console)
    assert page.locator("h1").inner_text() == "Tổng quan"
    percents = [
        float(p)
        for p in page.locator("#sites tbody tr").evaluate_all(
            "rows => rows.map(r => r.querySelector('[data-percent]').dataset.percent)"
        )
    ]
    assert percents == sorted(percents) and len(percents) == 3
    assert page.locator("#sites tbody tr").first.get_attribute("data-site") == "X02"  # the worst commune
    assert page.locator("svg.trend-chart").count() == 1 and page.locator("svg.sparkline").count() == 3
    shot(page, "console-01-overview-desktop", full_page=True)
    # A number leads to the list behind it: X02's critical findings.
    page.locator('#sites tr[data-site="X02"] a[href*="severity=critical"]').click()
    page.wait_for_url(re.compile(r".*/findings\?.*severity=critical"))
    assert page.locator("#findings tbody tr").count() == 1
    assert "pc-x02-motcua" in page.locator("#findings").inner_text()
    shot(page, "console-02-findings-drilldown", full_page=False)

    phone = new_page(*PHONE)
    log_in(phone, console)
    no_sideways_scroll(phone, PHONE[0])
    # The table scrolls inside its own box; the first column (the commune) stays readable.
    assert phone.locator("#sites").is_visible()
    shot(phone, "console-03-overview-phone", full_page=True)


def test_global_search_from_the_header(console: Console, new_page: Any) -> None:
    page = new_page(*DESKTOP)
    log_in(page, console, "tech")
    box = page.locator("header .top-search input[name=q]")
    box.fill("winrar<6.23")
    box.press("Enter")
    page.wait_for_url(re.compile(r".*/search\?q=winrar%3C6.23"))
    assert "WinRAR 6.02 (64-bit)" in page.locator("#results-software").inner_text()
    assert "WinRAR 6.23" not in page.locator("#results-software").inner_text()
    shot(page, "console-04-search-software", full_page=False)
    page.click("#version-query a")  # the devices that have such a version
    page.wait_for_url(re.compile(r".*/devices\?software="))
    names = page.locator("#devices tbody tr td:first-child a").all_inner_texts()
    assert sorted(names) == ["laptop-p01-chutich", "pc-p01-motcua"]
    # A MAC typed the Windows way finds its PC.
    page.locator("header .top-search input[name=q]").fill("00-11-22-33-55-02")
    page.locator("header .top-search input[name=q]").press("Enter")
    page.wait_for_load_state()
    assert page.locator("#results-device a").first.inner_text() == "pc-x02-vanthu"
    phone = new_page(*PHONE)
    log_in(phone, console, "tech")
    phone.goto(f"{console.url}/search?q=pc-x02")
    no_sideways_scroll(phone, PHONE[0])
    assert phone.locator("header .top-search input").is_visible()
    shot(phone, "console-05-search-phone", full_page=True)


def test_a_table_sorts_pages_and_exports_what_is_shown(console: Console, new_page: Any) -> None:
    page = new_page(*DESKTOP)
    log_in(page, console, "tech")
    page.goto(f"{console.url}/software?q=phần mềm&limit=25")
    assert page.locator("#software-total").get_attribute("data-total") == "60"
    assert page.locator("#software tbody tr").count() == 25
    first = page.locator("#software tbody tr td:first-child").first.inner_text()
    assert first == "Phần mềm 00"
    # Sort by version, descending: a second click on the header.
    page.click("#software th[data-key=version] a")
    page.click("#software th[data-key=version] a")
    assert page.locator("#software th[data-key=version]").get_attribute("aria-sort") == "descending"
    versions = page.locator("#software tbody tr td:nth-child(2)").all_inner_texts()
    assert versions[:3] == ["1.59", "1.58", "1.57"]  # as versions, not text ("1.9" is not after "1.59")
    seen = list(versions)
    page.click("nav.pager a[rel=next]")
    seen += page.locator("#software tbody tr td:nth-child(2)").all_inner_texts()
    page.click("nav.pager a[rel=next]")
    seen += page.locator("#software tbody tr td:nth-child(2)").all_inner_texts()
    assert len(seen) == 60 and len(set(seen)) == 60 and page.locator("nav.pager a[rel=next]").count() == 0
    page.click("nav.pager a[rel=prev]")
    assert page.locator("#software tbody tr td:nth-child(2)").first.inner_text() == seen[25]
    shot(page, "console-06-software-sorted-paged", full_page=False)
    # The export holds the whole filtered view in the same order, not just this page.
    with page.expect_download() as download:
        page.click(".table-meta a:text('CSV')")
    path = download.value.path()
    rows = list(csv.reader(io.StringIO(Path(path).read_text(encoding="utf-8-sig"))))
    assert rows[0][:2] == ["Tên", "Phiên bản"] and [r[1] for r in rows[1:]] == seen
    assert re.fullmatch(r"phan-mem-\d{8}\.csv", download.value.suggested_filename)
    with page.expect_download() as xlsx:
        page.click(".table-meta a:text('XLSX')")
    assert xlsx.value.suggested_filename.endswith(".xlsx")


def test_device_page_in_tabs(console: Console, new_page: Any) -> None:
    device = console.many_programs
    for width, height, name in ((*DESKTOP, "desktop"), (*PHONE, "phone")):
        page = new_page(width, height)
        log_in(page, console, "tech")
        page.goto(f"{console.url}/devices/{console.city.devices['pc-x02-motcua']}")
        tabs = page.locator("nav.tabs a").all_inner_texts()
        assert tabs[:7] == [
            "Tóm tắt",
            "Phần cứng",
            "Phần mềm",
            "Tiêu chí kiểm tra",
            "Chứng thư số",
            "Lỗ hổng bảo mật",
            "Lịch sử",
        ]
        # Compliance first: the score comes before the identity card.
        assert (
            page.locator("#device-compliance").bounding_box()["y"]
            < page.locator("#identity").bounding_box()["y"]
        )
        no_sideways_scroll(page, width)
        shot(page, f"console-07-device-summary-{name}", full_page=True)
        page.click("nav.tabs a:text('Tiêu chí kiểm tra')")
        page.wait_for_url(re.compile(r".*/checks$"))
        assert page.locator("#check-results tbody tr").first.locator(".badge").inner_text() == "Không đạt"
        page.click("nav.tabs a:text('Phần cứng')")
        assert "OptiPlex 3050" in page.locator("#hardware").inner_text()
        no_sideways_scroll(page, width)
        shot(page, f"console-08-device-hardware-{name}", full_page=True)
        page.goto(f"{console.url}/devices/{device}/software")
        assert page.locator("#software-list-total").get_attribute("data-total") == "60"
        assert page.locator("#software-list tbody tr").count() == 50
        # Live search (htmx): the table narrows without leaving the page.
        page.fill("#software input[type=search]", "phần mềm 4")
        # A locator wait, not wait_for_function: the page's CSP forbids the eval that one needs.
        expect(page.locator("#software-list-total")).to_have_attribute("data-total", "10")
        assert page.url.endswith("/software")
        no_sideways_scroll(page, width)
        shot(page, f"console-09-device-software-{name}", full_page=True)
        page.click("nav.tabs a:text('Lịch sử')")
        assert "Lịch sử báo cáo" in page.locator("main").inner_text()


def test_risk_acceptance_form_is_laid_out(console: Console, new_page: Any) -> None:
    page = new_page(*DESKTOP)
    log_in(page, console, "tech")
    page.goto(f"{console.url}/findings?site=X02&severity=critical")
    page.click("#findings tbody tr td:first-child a")
    form = page.locator("#accept-risk form")
    reason, until = form.locator("textarea[name=reason]"), form.locator("input[name=until]")
    label = form.locator("label").first
    # Each field sits under its label, as wide as the form; the button below them.
    assert reason.bounding_box()["y"] > label.bounding_box()["y"]
    assert reason.bounding_box()["width"] > 0.8 * form.bounding_box()["width"]
    assert until.bounding_box()["y"] > reason.bounding_box()["y"] + reason.bounding_box()["height"]
    assert form.locator("button").bounding_box()["y"] > until.bounding_box()["y"]
    shot(page, "console-10-accept-risk-form", full_page=True)


PAGES = [
    "/",
    "/devices",
    "/software",
    "/findings",
    "/certificates",
    "/certificates/table",
    "/search?q=pc",
    "/agents",
    "/inspections",
    "/planning",
    "/planning?budget=500.000.000",
    "/planning/assets",  # was 431 px wide at 390: its two charts side by side at 420 px each
    "/planning/register",
    "/planning/costs",
    "/admin/users",
    "/admin/enroll-secrets",
    "/admin/audit",
    "/sites/X02",
    "/sites/X02/certificates",
    "/sites/X02/lan",
]


def test_no_page_is_cut_at_phone_width(console: Console, new_page: Any) -> None:
    page = new_page(*PHONE)
    log_in(page, console)
    device = console.city.devices["pc-x02-motcua"]
    router = console.city.router_id
    paths = [*PAGES, f"/devices/{device}", f"/devices/{device}/hardware", f"/devices/{device}/software"]
    paths += [f"/devices/{device}/checks", f"/devices/{device}/certificates", f"/devices/{router}"]
    cut = []
    for path in paths:
        answer = page.goto(console.url + path)
        assert answer is not None and answer.status == 200, path
        scroll = page.evaluate("document.documentElement.scrollWidth")
        if scroll > PHONE[0]:
            cut.append(f"{path}: {scroll}px")
    assert not cut, "pages wider than the phone:\n" + "\n".join(cut)
    page.goto(f"{console.url}/admin/audit")
    shot(page, "console-11-audit-phone", full_page=False)
