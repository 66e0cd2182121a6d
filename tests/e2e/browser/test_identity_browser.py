"""Identity conflicts, move requests and site administration in Debian's Chromium (issue 13 parts 1-2,
issue 17 part 7), against a collector of their own (the pages change sites and devices).

Screenshots land in tests/artifacts/ (desktop and phone width) for a person to look at.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select

from tests.collector.web.support import PASSWORD, enroll, make_app, report_body, send_report, serving, shot

pytestmark = pytest.mark.browser


@dataclass
class World:
    url: str
    engine: Any
    devices: dict[str, int]


@pytest.fixture(scope="module")
def world(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    from collector.db import session_scope
    from collector.services.enrollment import create_enroll_secret
    from collector.services.sites import create_site
    from collector.services.users import create_user

    db = tmp_path_factory.mktemp("identity") / "wardwatch.db"
    shutil.copy(sqlite_template, db)
    app = make_app(db)
    with session_scope(app.state.engine) as s:
        create_site(s, code="PX-TANDINH", name="Phường Tân Định")
        create_site(s, code="XA-BINHCHANH", name="Xã Bình Chánh")
        create_site(s, code="XA-TANNHUT", name="Xã Tân Nhựt")
        create_user(s, username="admin", password=PASSWORD, role="admin", full_name="Trần Thị Quản")
        secret_p = create_enroll_secret(s, site_code="PX-TANDINH")
        secret_x = create_enroll_secret(s, site_code="XA-BINHCHANH")
    devices: dict[str, int] = {}
    with serving(app) as url, httpx.Client(base_url=url) as http:
        # A PC of Tân Định, re-enrolled into Bình Chánh after the merger: a move request.
        old_id, old_key = enroll(http, secret_p, "pc-motcua")
        ident = {"machine_id": "m-motcua", "serial": "SN-MC", "mac": "00:11:22:33:44:01"}
        devices["pc-motcua"] = send_report(http, old_key, report_body(old_id, "pc-motcua", **ident))
        new_id, new_key = enroll(http, secret_x, "pc-motcua")
        devices["pc-motcua-flagged"] = send_report(http, new_key, report_body(new_id, "pc-motcua", **ident))
        # An agent of Bình Chánh claiming the machine id of Tân Định's accounting PC: a conflict.
        acc_id, acc_key = enroll(http, secret_p, "pc-ketoan")
        acc = {"machine_id": "m-ketoan", "serial": "SN-KT", "mac": "00:11:22:33:44:02"}
        devices["pc-ketoan"] = send_report(http, acc_key, report_body(acc_id, "pc-ketoan", **acc))
        forger_id, forger_key = enroll(http, secret_x, "forger")
        forged = report_body(forger_id, "pc-ketoan", machine_id="m-ketoan", serial="", mac="")
        forged["subject"]["host"] = {"machine_id": "m-ketoan"}
        devices["forged"] = send_report(http, forger_key, forged)
        yield World(url=url, engine=app.state.engine, devices=devices)


def log_in(page: Any, world: World) -> None:
    page.goto(f"{world.url}/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(f"{world.url}/")


def _no_inline_code(html: str) -> None:
    """What a strict CSP would block: inline scripts, on* handlers, style attributes."""
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert not re.search(r"\son[a-z]+\s*=", html)
    assert " style=" not in html


def test_conflict_page_approve_a_move_and_keep_a_conflict_apart(world: World, new_page: Any) -> None:
    page = new_page()
    log_in(page, world)
    page.goto(f"{world.url}/admin/identity")
    main = page.locator("main")
    assert page.locator("h1").inner_text() == "Xung đột định danh"
    moves, conflicts = page.locator("article[data-claim]").nth(0), page.locator("article[data-claim]").nth(1)
    assert "Yêu cầu chuyển đơn vị" in moves.inner_text() and "PX-TANDINH" in moves.inner_text()
    assert "XA-BINHCHANH" in moves.inner_text() and "SN-MC" in moves.inner_text()
    assert "Xung đột định danh" in conflicts.inner_text() and "m-ketoan" in conflicts.inner_text()
    shot(page, "identity-01-conflicts-vi")
    _no_inline_code(page.request.get(page.url).text())  # as served, before any script touches the DOM

    # Cancelling the confirmation changes nothing; accepting approves the move.
    page.once("dialog", lambda d: d.dismiss())
    moves.locator("button[value=merge]").click()
    page.wait_for_timeout(300)
    assert page.url.endswith("/admin/identity") and "flash" not in main.inner_html().split("<h1")[0]
    page.once("dialog", lambda d: d.accept())
    moves.locator("input[name=note]").fill("Sáp nhập phường Tân Định")
    moves.locator("button[value=merge]").click()
    page.wait_for_load_state()
    assert "Đã chấp thuận: thiết bị nay thuộc đơn vị XA-BINHCHANH." in main.inner_text()
    assert "đã chấp thuận chuyển" in main.inner_text() and "Sáp nhập phường Tân Định" in main.inner_text()
    shot(page, "identity-02-move-approved-vi")

    # The forged device's own page shows the conflict; keep apart from there.
    page.goto(f"{world.url}/devices/{world.devices['forged']}")
    notice = page.locator("main .flash.error").inner_text()
    assert "Thiết bị này đang có xung đột định danh chưa xử lý" in notice
    panel = page.locator("#device-claims")
    served = page.request.get(page.url).text()
    _no_inline_code(served[served.index('id="device-claims"') : served.index("</main>")])
    assert "Tác tử yêu cầu" in panel.inner_text() and "m-ketoan" in panel.inner_text()
    shot(page, "identity-03-device-panel-vi")
    panel.locator("button[value=keep_apart]").click()
    page.wait_for_load_state()
    assert "Hai thiết bị được giữ riêng." in main.inner_text()
    assert re.search(rf"/devices/{world.devices['forged']}$", page.url)

    # The moved PC is in its new site, with its history; English works too.
    page.goto(f"{world.url}/devices/{world.devices['pc-motcua']}?lang=en")
    assert "Xã Bình Chánh" in page.locator(".crumbs").inner_text()
    assert "move approved" in page.locator("#device-claims").inner_text()
    shot(page, "identity-04-moved-device-en")

    phone = new_page(390, 844)
    log_in(phone, world)
    phone.goto(f"{world.url}/admin/identity")
    shot(phone, "identity-05-phone-vi")
    with Session(world.engine) as s:
        from collector.models.core import AuditEvent

        actions = {e.action for e in s.exec(select(AuditEvent)).all()}
    assert {"device.move_requested", "identity.conflict", "identity.merge", "identity.keep_apart"} <= actions


def test_sites_create_rename_and_merge_in_the_console(world: World, new_page: Any) -> None:
    page = new_page()
    log_in(page, world)
    page.goto(f"{world.url}/admin/sites")
    _no_inline_code(page.request.get(page.url).text())
    form = page.locator("#add-site form")
    form.locator("input[name=code]").fill("XA-MOI")
    form.locator("input[name=name]").fill("Xã Mới Thành Lập")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "Đã tạo đơn vị XA-MOI." in page.locator("main").inner_text()
    shot(page, "sites-01-list-vi")

    page.goto(f"{world.url}/admin/sites/XA-MOI")
    page.fill("input[name=name]", "Xã Tân Nhựt Mới")
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    assert "Đã đổi tên đơn vị XA-MOI." in page.locator("main").inner_text()
    assert "Xã Tân Nhựt Mới" in page.locator("table.data").inner_text()

    page.goto(f"{world.url}/admin/sites/merge")
    page.select_option("select[name=source]", "PX-TANDINH")
    page.select_option("select[name=target]", "XA-BINHCHANH")
    page.click("#merge-choose button[type=submit]")
    page.wait_for_load_state()
    preview = page.locator("#merge-preview")
    assert "PX-TANDINH · Phường Tân Định vào XA-BINHCHANH · Xã Bình Chánh" in preview.inner_text()
    _no_inline_code(page.request.get(page.url).text())
    shot(page, "sites-02-merge-preview-vi")
    preview.locator("input[name=confirm]").fill("XA-BINHCHANH")
    page.once("dialog", lambda d: d.accept())
    preview.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/sites/XA-BINHCHANH$"))
    assert "Đã hợp nhất đơn vị PX-TANDINH vào XA-BINHCHANH" in page.locator("main").inner_text()
    assert "pc-ketoan" in page.locator("main").inner_text()
    shot(page, "sites-03-merged-vi")
    page.goto(f"{world.url}/admin/sites")
    assert "PX-TANDINH" not in page.locator("table.data").inner_text()
