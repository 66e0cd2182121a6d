"""Subscriptions page and change history in Debian's Chromium at desktop and phone widths, against a
real collector (uvicorn) whose background sender delivers to a real webhook receiver.
Screenshots land in tests/artifacts/ (notify-*, history-*)."""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.collector.web.support import PASSWORD, LiveServer, changed_pc, seed, shot
from tests.helpers import free_port
from tests.notify_servers import Receiver, webhook_receiver

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def hook() -> Iterator[Receiver]:
    with webhook_receiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def server(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory, hook: Receiver
) -> Iterator[LiveServer]:
    import httpx
    import uvicorn

    from collector.app import create_app
    from collector.settings import CollectorSettings

    db = tmp_path_factory.mktemp("notify-live") / "wardwatch.db"
    shutil.copy(sqlite_template, db)
    settings = CollectorSettings(
        database_url=f"sqlite:///{db}", data_dir=db.parent / "data", notify_interval_seconds=0.3
    )
    app = create_app(settings)
    port = free_port()
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=url) as http:
        seeded = seed(app.state.engine, http)
        seeded.devices["pc-ketoan"] = changed_pc(http, app.state.engine)
    try:
        yield LiveServer(url=url, seeded=seeded, engine=app.state.engine)
    finally:
        uv.should_exit = True
        thread.join(timeout=10)
        app.state.engine.dispose()


def log_in(page: Any, server: LiveServer, username: str) -> None:
    page.goto(f"{server.url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(f"{server.url}/")


def no_sideways_scroll(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def test_a_technician_subscribes_and_sees_the_delivery_log(
    server: LiveServer, hook: Receiver, new_page: Any
) -> None:
    page = new_page()
    log_in(page, server, "tech")
    page.click("header nav >> text=Thông báo")
    page.wait_for_url(f"{server.url}/notifications")
    assert page.locator("h1").inner_text() == "Thông báo"
    assert "Chưa có đăng ký nào" in page.locator("main").inner_text()
    form = page.locator("#add-subscription")
    form.locator("select[name=event]").select_option("finding.opened")
    form.locator("select[name=site]").select_option("PX-PHUCXA")
    form.locator("input[name=target]").fill("ktv.phucxa@hanoi.gov.vn")
    form.locator("input[name=digest]").check()
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"{server.url}/notifications")
    assert "Đã thêm đăng ký" in page.locator(".flash").inner_text()
    row = page.locator("#subscriptions tbody tr").first.inner_text()
    assert (
        "Phát hiện mới mức nghiêm trọng hoặc cao" in row and "PX-PHUCXA" in row and "bản tin hằng ngày" in row
    )

    # A wrong address: the form says so and keeps what was typed.
    form = page.locator("#add-subscription")
    form.locator("input[name=target]").fill("khong-phai-email")
    form.locator("input[name=digest]").uncheck()
    form.locator("button[type=submit]").click()
    assert "không phải địa chỉ thư điện tử" in page.locator("#add-subscription .flash").inner_text()
    assert page.locator("#add-subscription input[name=target]").input_value() == "khong-phai-email"

    form = page.locator("#add-subscription")
    form.locator("select[name=event]").select_option("agent.silent")
    form.locator("select[name=channel]").select_option("webhook")
    form.locator("input[name=target]").fill(hook.url)
    form.locator("input[name=days]").fill("5")
    form.locator("button[type=submit]").click()
    secret = page.locator("#webhook-secret .secret").inner_text()
    assert len(secret) >= 40
    shot(page, "notify-01-subscriptions-desktop")

    page.goto(f"{server.url}/notifications")
    assert page.locator("#webhook-secret").count() == 0  # shown once
    webhook_row = page.locator("#subscriptions tbody tr", has_text="Webhook")
    assert "5 ngày" in webhook_row.inner_text()
    webhook_row.locator("button", has_text="Gửi thử").click()
    assert "Thông báo thử sẽ được gửi" in page.locator(".flash").inner_text()
    deadline = time.monotonic() + 20
    while not hook.calls:  # the background sender of the served collector delivers it
        assert time.monotonic() < deadline, "the test message did not arrive"
        time.sleep(0.1)
    assert hook.calls[0][0]["x-wardwatch-event"] == "test"
    page.locator("#subscriptions tbody tr", has_text="Webhook").locator("a", has_text="Nhật ký gửi").click()
    page.wait_for_url(re.compile(r".*/notifications/\d+$"))
    page.locator("#deliveries").wait_for()  # a locator wait: the page's CSP forbids eval
    log = page.locator("#deliveries").inner_text()
    assert "Thông báo thử" in log and "đã gửi" in log and "200" in log
    shot(page, "notify-02-delivery-log-desktop")

    # Switch it off, and it says so.
    page.goto(f"{server.url}/notifications")
    page.locator("#subscriptions tbody tr", has_text="Webhook").locator("button", has_text="Tắt").click()
    assert "Đã tắt đăng ký" in page.locator(".flash").inner_text()
    assert "đã tắt" in page.locator("#subscriptions tbody tr", has_text="Webhook").inner_text()


def test_subscriptions_page_at_phone_width_and_admin_sees_everyones(
    server: LiveServer, new_page: Any
) -> None:
    phone = new_page(390, 844)
    log_in(phone, server, "viewer-a")
    phone.goto(f"{server.url}/notifications")
    # A viewer may use e-mail only: no webhook option.
    assert phone.locator("select[name=channel] option[value=webhook]").count() == 0
    form = phone.locator("#add-subscription")
    form.locator("select[name=event]").select_option("certificate.expiring")
    form.locator("input[name=target]").fill("viewer@phucxa.gov.vn")
    form.locator("button[type=submit]").click()
    assert "Đã thêm đăng ký" in phone.locator(".flash").inner_text()
    # The site list offers only the user's own site.
    assert phone.locator("select[name=site] option").all_inner_texts()[1:] == ["PX-PHUCXA · Phường Phúc Xá"]
    no_sideways_scroll(phone)
    shot(phone, "notify-03-subscriptions-phone")

    admin = new_page()
    log_in(admin, server, "admin")
    admin.goto(f"{server.url}/notifications")
    admin.click("text=Tất cả đăng ký")
    table = admin.locator("#subscriptions").inner_text()
    assert "viewer-a" in table and "viewer@phucxa.gov.vn" in table
    shot(admin, "notify-04-all-subscriptions-admin")


def test_history_tab_and_site_changes_at_desktop_and_phone_width(server: LiveServer, new_page: Any) -> None:
    device_id = server.seeded.devices["pc-ketoan"]
    for width, height, name in ((1280, 900, "desktop"), (390, 844, "phone")):
        page = new_page(width, height)
        log_in(page, server, "tech")
        page.goto(f"{server.url}/devices/{device_id}")
        page.click(".tabs >> text=Lịch sử")
        page.wait_for_url(f"{server.url}/devices/{device_id}/history")
        text = page.locator("#device-history").inner_text()
        assert "Bộ nhớ (RAM) giảm từ 8.0 GB xuống 4.0 GB" in text and "Cài đặt UltraViewer 6.6.50" in text
        assert page.locator("#changes tr.res-fail").count() == 2
        no_sideways_scroll(page)
        shot(page, f"history-01-device-{name}")
        page.goto(f"{server.url}/sites/PX-PHUCXA")
        assert "Thay đổi trong tuần" in page.locator("#site-changes-week").inner_text()
        page.click("#site-changes-week >> text=Mọi thay đổi của đơn vị")
        page.wait_for_url(re.compile(r".*/sites/PX-PHUCXA/changes$"))
        page.check("input[name=suspicious]")
        page.click("#site-changes form.filters button[type=submit]")
        page.wait_for_url(re.compile(r".*suspicious=1.*"))
        assert page.locator("#changes tbody tr:not(.day)").count() == 2
        no_sideways_scroll(page)
        shot(page, f"history-02-site-changes-{name}")
