"""The console in Debian's Chromium (Playwright, headless) against a real collector served by uvicorn.

Screenshots of the key pages land in tests/artifacts/ (desktop and phone width) for a person to look at.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.collector.web.support import (
    PASSWORD,
    XSS_HOST,
    XSS_SOFTWARE,
    XSS_USER,
    LiveServer,
    expire_sessions,
    shot,
)

pytestmark = pytest.mark.browser


def log_in(page: Any, server: LiveServer, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{server.url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form.stack button[type=submit]")


def test_login_overview_site_device_and_language(live_server: LiveServer, new_page: Any) -> None:
    page = new_page()
    page.goto(live_server.url + "/")
    assert page.url.startswith(f"{live_server.url}/login?next=")
    assert page.locator("h1").inner_text() == "Đăng nhập"
    shot(page, "01-login-vi")

    log_in(page, live_server, "tech")
    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("h1").inner_text() == "Tổng quan"
    assert page.locator("tr.stale").count() >= 1  # the site with a silent agent
    page.click("#stale-agents summary")  # the silent agents, folded under the communes
    assert "pc-silent" in page.locator("#stale-agents").inner_text()
    shot(page, "02-overview-vi")

    page.click("text=Phường Phúc Xá")
    page.wait_for_url(re.compile(r".*/sites/PX-PHUCXA$"))
    assert page.locator("h1").inner_text().startswith("Phường Phúc Xá")
    assert page.locator("table.data tbody tr").count() == 3
    shot(page, "03-site-vi")

    page.click("text=laptop-chutich")
    page.wait_for_url(re.compile(r".*/devices/\d+$"))
    assert "laptop-chutich" in page.locator("h1").inner_text()
    assert "Điểm tuân thủ" in page.locator("main").inner_text()
    shot(page, "04-device-vi")
    page.click("nav.tabs a:text('Phần cứng')")
    body = page.locator("main").inner_text()
    assert "Pin" in body and "15/03/2017" in body

    # Live software search (htmx): typing filters without leaving the page.
    page.click("nav.tabs a:text('Phần mềm')")
    assert "Phần mềm đã cài đặt" in page.locator("main").inner_text()
    page.fill("#software input[type=search]", "unikey")
    # A locator wait, not wait_for_function: the page's CSP forbids the eval that one needs.
    expect(page.locator("#software-table")).not_to_contain_text("Google Chrome")
    assert "UniKey" in page.locator("#software-table").inner_text()

    # Switch to English: the page comes back translated, and stays so on the next page.
    page.click("header .lang-switch button[value=en]")
    page.wait_for_load_state()
    assert "Installed software" in page.locator("main").inner_text()
    page.click("nav.tabs a:text('Hardware')")
    assert "2017-03-15" in page.locator("main").inner_text()
    page.click("header nav >> text=Overview")
    assert page.locator("h1").inner_text() == "Overview"
    shot(page, "05-overview-en")
    page.click("header .lang-switch button[value=vi]")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Tổng quan"


def test_role_refusal_and_admin_navigation(live_server: LiveServer, new_page: Any) -> None:
    page = new_page()
    log_in(page, live_server, "planner")
    page.wait_for_url(f"{live_server.url}/")
    nav = page.locator("header nav").inner_text()
    assert "Người dùng" not in nav and "Nhật ký hoạt động" not in nav
    answer = page.goto(f"{live_server.url}/admin/users")
    assert answer is not None and answer.status == 403
    assert "Bạn không có quyền xem trang này" in page.locator("main").inner_text()
    shot(page, "06-forbidden-vi")

    admin = new_page()
    log_in(admin, live_server, "admin")
    admin.wait_for_url(f"{live_server.url}/")
    nav = admin.locator("header nav").inner_text()
    assert "Người dùng" in nav and "Mã đăng ký tác tử" in nav and "Nhật ký hoạt động" in nav
    admin.click("header nav >> text=Người dùng")
    # The username with HTML in it is shown as text, not interpreted.
    assert admin.locator(f"text={XSS_USER}").count() == 1
    assert admin.locator("table b[onmouseover]").count() == 0
    shot(admin, "07-admin-users-vi")
    admin.click("header nav >> text=Nhật ký hoạt động")
    assert "login" in admin.locator("table.data").inner_text()
    shot(admin, "08-audit-vi")
    admin.click("header nav >> text=Mã đăng ký tác tử")
    admin.select_option("select[name=site]", "XA-DONGANH")
    admin.fill("input[name=label]", "Máy mới tầng 2")
    admin.click("form.stack button[type=submit]")
    secret = admin.locator(".ok-card .secret").inner_text()
    assert secret.startswith("wwe_")
    shot(admin, "09-enroll-secret-vi")
    admin.click("header nav >> text=Tác tử (agent)")
    assert admin.locator("tr.stale").count() >= 1
    shot(admin, "10-agents-vi")


def test_csrf_refusal_in_the_browser(live_server: LiveServer, new_page: Any) -> None:
    page = new_page()
    log_in(page, live_server, "admin")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/admin/users")
    # A form whose token was tampered with (as a cross-site form would be: it cannot read the token).
    page.eval_on_selector("#add input[name=csrf_token]", "el => el.value = 'forged'")
    page.fill("#add input[name=username]", "ke-gian")
    page.fill("#add input[name=password]", "mat-khau-rat-dai")
    with page.expect_navigation() as nav:
        page.click("#add button[type=submit]")
    assert nav.value.status == 403
    assert "Biểu mẫu đã hết hạn" in page.locator("main").inner_text()
    shot(page, "11-csrf-refused-vi")
    page.goto(f"{live_server.url}/admin/users")
    assert "ke-gian" not in page.locator("main").inner_text()


def test_scoped_user_gets_404_for_another_sites_device(live_server: LiveServer, new_page: Any) -> None:
    page = new_page()
    log_in(page, live_server, "viewer-a")
    page.wait_for_url(f"{live_server.url}/")
    assert "Xã Đông Anh" not in page.locator("main").inner_text()
    other = live_server.seeded.devices["pc-xa-01"]
    answer = page.goto(f"{live_server.url}/devices/{other}")
    assert answer is not None and answer.status == 404
    text = page.locator("main").inner_text()
    assert "pc-xa-01" not in text and "Đông Anh" not in text and "Trang này không tồn tại" in text
    shot(page, "12-not-found-vi")


def test_html_in_names_is_shown_as_text(live_server: LiveServer, new_page: Any) -> None:
    page = new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    log_in(page, live_server, "admin")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/sites/PX-PHUCXA")
    assert page.locator(f"text={XSS_HOST}").count() == 1
    page.goto(f"{live_server.url}/devices/{live_server.seeded.devices[XSS_HOST]}/software")
    assert XSS_SOFTWARE in page.locator("#software-table").inner_text()
    assert page.locator("#software-table img").count() == 0
    assert page.locator("main script").count() == 0
    assert dialogs == []


def test_phone_width_is_usable(live_server: LiveServer, new_page: Any) -> None:
    page = new_page(390, 844)
    page.goto(f"{live_server.url}/login")
    shot(page, "16-login-phone", full_page=False)
    log_in(page, live_server, "admin")
    page.wait_for_url(f"{live_server.url}/")
    # No sideways scrolling of the page itself: wide tables scroll inside their own box.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    assert not page.locator("header nav").is_visible()  # folded behind the menu button
    shot(page, "13-overview-phone", full_page=False)
    page.click("label.menu-button")
    assert page.locator("header nav").is_visible()
    shot(page, "14-menu-phone", full_page=False)
    page.goto(f"{live_server.url}/devices/{live_server.seeded.devices['laptop-chutich']}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "15-device-phone")


def test_wrong_password_and_expired_session_refused(live_server: LiveServer, new_page: Any) -> None:
    page = new_page()
    log_in(page, live_server, "tech", "not-my-password")
    assert "/login" in page.url
    assert "Sai tên đăng nhập hoặc mật khẩu" in page.locator(".flash.error").inner_text()
    shot(page, "17-wrong-password-vi")

    log_in(page, live_server, "tech")
    page.wait_for_url(f"{live_server.url}/")
    expire_sessions(live_server.engine)
    page.click("text=Phường Phúc Xá")
    page.wait_for_url(re.compile(r".*/login\?next=/sites/PX-PHUCXA$"))
    assert "Phiên làm việc đã hết hạn" in page.locator("main").inner_text()
    assert "pc-motcua-01" not in page.content()
    # Logging in again goes back to where the user was heading.
    page.fill("input[name=username]", "tech")
    page.fill("input[name=password]", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(re.compile(r".*/sites/PX-PHUCXA$"))


def test_a_one_time_password_leads_to_the_change_password_page(
    live_server: LiveServer, new_page: Any
) -> None:
    from collector.db import session_scope
    from collector.services.users import create_user

    with session_scope(live_server.engine) as s:
        user_id = create_user(s, username="doi.mat.khau", password=PASSWORD, role="viewer").id
    admin = new_page()
    log_in(admin, live_server, "admin")
    admin.wait_for_url(f"{live_server.url}/")
    admin.goto(f"{live_server.url}/admin/users/{user_id}")
    admin.click("form[action$='/reset-password'] button[type=submit]")
    one_time = admin.locator("p.secret").inner_text().strip()
    assert "ở lần đăng nhập tiếp theo" in admin.locator("main").inner_text()

    page = new_page()
    log_in(page, live_server, "doi.mat.khau", one_time)
    page.wait_for_url(re.compile(r".*/account/password\?next=/$"))
    assert "mật khẩu dùng một lần" in page.locator("main").inner_text()
    page.fill("input[name=current_password]", one_time)
    page.fill("input[name=new_password]", "password-1234")
    page.fill("input[name=confirm_password]", "password-1234")
    page.click("main form button[type=submit]")
    assert "quá phổ biến" in page.locator(".flash.error").inner_text()
    shot(page, "18-change-password-refused-vi")
    page.fill("input[name=current_password]", one_time)
    page.fill("input[name=new_password]", "cay-bang-truoc-ngo-7")
    page.fill("input[name=confirm_password]", "cay-bang-truoc-ngo-7")
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    assert "Mật khẩu của bạn đã được thay đổi" in page.locator("main").inner_text()
