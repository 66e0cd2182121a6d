"""The web console over HTTP (no browser): login, sessions, CSRF, scope, escaping, errors, admin work."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.collector.web.support import (
    PASSWORD,
    XSS_HOST,
    XSS_SOFTWARE,
    XSS_USER,
    csrf_from,
    enroll,
    expire_sessions,
    login,
    make_app,
    report_body,
    send_report,
)


def _text(html: str) -> str:
    """The visible text of a page, roughly: tags dropped, whitespace folded."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- login and sessions ------------------------------------------------------------------------


def test_login_sets_a_protected_session_cookie_and_lands_on_the_overview(seeded_client: Any) -> None:
    http, _seeded = seeded_client
    answer = login(http, "admin")
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("ww_session="))
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Secure" not in cookie
    page = http.get("/")
    assert page.status_code == 200
    assert "Tổng quan" in page.text and "Phường Phúc Xá" in page.text and "Xã Đông Anh" in page.text
    assert page.headers["x-frame-options"] == "DENY" and page.headers["x-content-type-options"] == "nosniff"
    again = http.get("/login", params={"next": "/agents"}, follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == "/agents"  # already logged in


def test_cookies_are_secure_behind_tls(sqlite_template: Path, tmp_path: Path) -> None:
    import shutil

    from collector.app import create_app
    from collector.db import session_scope
    from collector.services.users import create_user
    from collector.settings import CollectorSettings

    db = tmp_path / "w.db"
    shutil.copy(sqlite_template, db)
    app = create_app(CollectorSettings(database_url=f"sqlite:///{db}", secure_cookies=True))
    with session_scope(app.state.engine) as s:
        create_user(s, username="admin", password=PASSWORD, role="admin")
    with TestClient(app, base_url="https://testserver") as http:
        first = http.get("/login")
        assert all("Secure" in c for c in first.headers.get_list("set-cookie"))
        answer = login(http, "admin")
        session_cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("ww_session="))
        assert "Secure" in session_cookie and "HttpOnly" in session_cookie
    app.state.engine.dispose()


def test_wrong_password_and_unknown_user_get_the_same_refusal(seeded_client: Any) -> None:
    http, _seeded = seeded_client
    wrong = login(http, "admin", "not-the-password")
    unknown = login(http, "nobody-here", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    assert "ww_session" not in wrong.headers.get("set-cookie", "")
    message = "Sai tên đăng nhập hoặc mật khẩu"
    assert message in wrong.text and message in unknown.text
    assert _text(wrong.text).replace("admin", "X") == _text(unknown.text).replace("nobody-here", "X")


def test_wrong_passwords_slow_down_the_guesser_only_and_never_lock_the_owner_out(
    seeded_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: five anonymous wrong passwords locked any account, an admin's included, for 15 minutes."""
    from datetime import timedelta

    from fastapi.testclient import TestClient as Client

    from collector.services import throttle

    # The first wait is a second; a minute here keeps a slow machine from outwaiting it mid-test.
    monkeypatch.setattr(throttle, "FIRST_DELAY", timedelta(minutes=1))
    http, _seeded = seeded_client
    for _ in range(6):  # five free failures, then a wait that doubles with each one
        assert login(http, "admin", "wrong-password-guess").status_code == 401
    waiting = login(http, "admin")
    assert waiting.status_code == 429 and int(waiting.headers["retry-after"]) >= 1
    assert "Có quá nhiều lần thử sai" in waiting.text
    # The same refusal for a name that does not exist: nothing says which accounts are real.
    for _ in range(6):
        assert login(http, "nobody-here", "wrong-password-guess").status_code == 401
    assert login(http, "nobody-here").status_code == 429
    # The owner, from their own address, is not affected by what the stranger did.
    owner = Client(http.app, client=("198.51.100.7", 50000))
    assert login(owner, "admin").status_code == 303
    audit = owner.get("/admin/audit", params={"action": "login.failed"}).text
    rows = audit.split("<tbody>")[1]
    # Counted, not listed: one row per address and minute (two if the minute turned meanwhile).
    counts = [int(n) for n in re.findall(r"× (\d+)", rows)]
    assert sum(counts) == 12 and len(counts) <= 2


def test_login_form_without_its_csrf_token_is_refused(seeded_client: Any) -> None:
    http, _seeded = seeded_client
    http.get("/login")
    for token in ("", "forged-token-forged-token"):
        answer = http.post(
            "/login",
            data={"username": "admin", "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
        assert answer.status_code == 403
        assert "Biểu mẫu đăng nhập đã hết hạn" in answer.text
        assert "ww_session" not in answer.headers.get("set-cookie", "")


def test_expired_session_sends_back_to_login_with_a_clear_message(seeded_client: Any) -> None:
    http, seeded = seeded_client
    login(http, "admin")
    expire_sessions(http.app.state.engine)
    device_id = seeded.devices["pc-motcua-01"]
    answer = http.get(f"/devices/{device_id}", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/login?next=/devices/{device_id}"
    page = http.get(answer.headers["location"])
    assert "Phiên làm việc đã hết hạn" in page.text
    assert "pc-motcua-01" not in page.text


def test_logout_ends_the_session(seeded_client: Any) -> None:
    http, _seeded = seeded_client
    login(http, "admin")
    token = csrf_from(http.get("/").text)
    cookie = http.cookies.get("ww_session")
    answer = http.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    http.cookies.set("ww_session", cookie)  # replaying the old cookie does not work
    assert http.get("/", follow_redirects=False).status_code == 303


def test_login_next_never_leaves_the_site(seeded_client: Any) -> None:
    http, _seeded = seeded_client
    token = csrf_from(http.get("/login").text)
    answer = http.post(
        "/login",
        data={"username": "admin", "password": PASSWORD, "csrf_token": token, "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/"


# --- CSRF on forms of a logged-in user --------------------------------------------------------------


def test_form_post_without_or_with_a_wrong_csrf_token_changes_nothing(seeded_client: Any) -> None:
    http, _seeded = seeded_client
    login(http, "admin")
    for data in ({}, {"csrf_token": "wrong"}):
        answer = http.post(
            "/admin/users",
            data={"username": "intruder", "password": "longpassword1", "role": "admin", **data},
        )
        assert answer.status_code == 403
        assert "Biểu mẫu đã hết hạn" in answer.text
    assert "intruder" not in http.get("/admin/users").text


# --- roles and scope -------------------------------------------------------------------------------


def test_a_viewer_is_refused_admin_pages_with_a_403_page(seeded_client: Any) -> None:
    http, _seeded = seeded_client
    login(http, "planner")
    answer = http.get("/admin/users")
    assert answer.status_code == 403
    assert "Bạn không có quyền xem trang này" in answer.text
    assert "planner" in answer.text  # still logged in, navigation shown
    assert 'href="/admin/users"' not in answer.text  # ...without the admin entries
    assert http.get("/agents").status_code == 403


def test_a_user_scoped_to_one_site_sees_nothing_of_another(seeded_client: Any) -> None:
    http, seeded = seeded_client
    login(http, "viewer-a")
    overview = http.get("/")
    assert "Phường Phúc Xá" in overview.text and "Xã Đông Anh" not in overview.text
    other = seeded.devices["pc-xa-01"]
    foreign = http.get(f"/devices/{other}")
    missing = http.get("/devices/987654")
    assert foreign.status_code == missing.status_code == 404
    assert "pc-xa-01" not in foreign.text and "Đông Anh" not in foreign.text
    assert _text(foreign.text) == _text(missing.text)
    assert http.get(f"/devices/{other}/software").status_code == 404
    assert http.get("/sites/XA-DONGANH").status_code == 404
    assert http.get(f"/devices/{seeded.devices['pc-motcua-01']}").status_code == 200


# --- pages ------------------------------------------------------------------------------------------


def test_overview_counts_devices_and_highlights_stale_agents(seeded_client: Any) -> None:
    http, _seeded = seeded_client
    login(http, "tech")
    page = http.get("/").text
    assert "Tác tử mất liên lạc" in page and "pc-silent" in page
    row = re.search(r'<tr class="stale" data-site="([^"]+)">', page)
    assert row and row.group(1) == "XA-DONGANH"
    site_a = re.search(r'<tr data-site="PX-PHUCXA">.*?</tr>', page, re.S)
    assert site_a and re.search(r'<a href="/devices\?site=PX-PHUCXA">3</a>', site_a.group(0))


def test_site_page_lists_its_devices_and_flags_the_clone(seeded_client: Any) -> None:
    http, _seeded = seeded_client
    login(http, "tech")
    page = http.get("/sites/XA-DONGANH").text
    assert "pc-xa-01" in page and "pc-xa-02" in page and "pc-motcua-01" not in page
    assert "nhân bản" in page
    assert "Windows 10 Pro 22H2" in page
    searched = http.get("/sites/XA-DONGANH", params={"q": "XA-02"}).text
    assert "pc-xa-02" in searched and "pc-xa-01" not in searched


def test_device_page_shows_identity_hardware_disks_batteries_interfaces_software_results(
    seeded_client: Any,
) -> None:
    http, seeded = seeded_client
    login(http, "tech")
    device = seeded.devices["laptop-chutich"]
    # The tabs: summary (compliance first), hardware, software, checks, certificates, history.
    summary = _text(http.get(f"/devices/{device}").text)
    hardware = _text(http.get(f"/devices/{device}/hardware").text)
    software = _text(http.get(f"/devices/{device}/software").text)
    checks = _text(http.get(f"/devices/{device}/checks").text)
    history = _text(http.get(f"/devices/{device}/history").text)
    for text, expected in (
        (summary, "SN2"),
        (summary, "00:11:22:33:44:02"),
        (summary, "192.168.1.20"),
        (summary, "Windows 10 Pro"),
        (summary, "8,0 GB"),  # decimal comma in Vietnamese (was 8.0 GB)
        (hardware, "Dell Inc."),
        (hardware, "OptiPlex 3050"),
        (hardware, "Intel(R) Core(TM) i5-7500"),
        (hardware, "ST1000DM010"),
        (hardware, "Ổ cứng"),
        (hardware, "BAT0"),
        (hardware, "44%"),  # 18.5 of 42 Wh
        (hardware, "18,5 Wh"),  # a decimal comma on a Vietnamese page
        (hardware, "192.168.1.20/24"),
        (hardware, "15/03/2017"),  # BIOS date, dd/mm/yyyy in Vietnamese
        (software, "Google Chrome"),
        (checks, "Không đạt"),
        (history, "Lịch sử báo cáo"),
    ):
        assert expected in text, expected
    assert summary.index("Điểm tuân thủ") < summary.index("Định danh")  # compliance first
    clone = http.get(f"/devices/{seeded.devices['pc-xa-02']}").text
    assert "cùng mã máy" in clone


def test_software_search_filters_the_list(seeded_client: Any) -> None:
    http, seeded = seeded_client
    login(http, "viewer-a")
    device = seeded.devices["pc-motcua-01"]
    page = http.get(f"/devices/{device}/software", params={"q": "uni"}).text
    assert "UniKey" in page and "Google Chrome" not in page
    # The live search (htmx) gets the table alone.
    partial = http.get(f"/devices/{device}/software", params={"q": "CHROME"}, headers={"HX-Request": "true"})
    assert partial.status_code == 200 and "<html" not in partial.text
    assert "Google Chrome" in partial.text and "UniKey" not in partial.text
    assert "1 kết quả" in _text(partial.text)
    # A version comparison works inside one device too.
    older = http.get(f"/devices/{device}/software", params={"q": "chrome<121"}).text
    assert "Google Chrome" in older
    assert "Google Chrome" not in http.get(f"/devices/{device}/software", params={"q": "chrome>=121"}).text
    none = http.get(f"/devices/{device}/software", params={"q": "<zzz>"}).text
    assert "&lt;zzz&gt;" in none and "<zzz>" not in none


def test_html_in_hostnames_software_and_usernames_is_escaped(seeded_client: Any) -> None:
    http, seeded = seeded_client
    login(http, "admin")
    pages = [
        http.get("/sites/PX-PHUCXA").text,
        http.get(f"/devices/{seeded.devices[XSS_HOST]}/software").text,
        http.get("/admin/users").text,
        http.get("/admin/audit").text,
        http.get("/agents").text,
    ]
    joined = "\n".join(pages)
    for raw in (XSS_HOST, XSS_SOFTWARE, XSS_USER, "<i>1.0</i>", "<u>ACME</u>"):
        assert raw not in joined, raw
    assert "&lt;script&gt;alert(&#34;host&#34;)&lt;/script&gt;pc" in pages[0]
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;Evil Suite" in pages[1]
    assert "&lt;b onmouseover=&#34;alert(2)&#34;&gt;mallory&lt;/b&gt;" in pages[2]


# --- errors and languages ----------------------------------------------------------------------------


def test_unknown_paths_get_html_for_pages_and_json_for_the_api(seeded_client: Any) -> None:
    http, _seeded = seeded_client
    page = http.get("/no/such/page")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "Trang này không tồn tại" in page.text
    english = http.get("/no/such/page", params={"lang": "en"})
    assert "This page does not exist" in english.text
    api = http.get("/api/v1/no/such/thing")
    assert api.status_code == 404 and api.json() == {"detail": "Not Found"}


def test_server_errors_are_a_page_that_discloses_nothing(sqlite_template: Path, tmp_path: Path) -> None:
    import shutil

    from collector.http.deps import Public

    db = tmp_path / "w.db"
    shutil.copy(sqlite_template, db)
    app = make_app(db)

    def boom() -> None:
        raise RuntimeError("secret internal detail")

    app.add_api_route("/boom", boom, dependencies=[Public])
    app.add_api_route("/api/v1/boom", boom, dependencies=[Public])
    with TestClient(app, raise_server_exceptions=False) as http:
        page = http.get("/boom")
        assert page.status_code == 500 and "Đã xảy ra lỗi" in page.text
        assert "secret internal detail" not in page.text
        assert "Something went wrong" in http.get("/boom", params={"lang": "en"}).text
        api = http.get("/api/v1/boom")
        assert api.status_code == 500 and "secret" not in api.text and "detail" in api.json()
    app.state.engine.dispose()


def test_language_choice_is_remembered_in_a_cookie_and_on_the_user(seeded_client: Any) -> None:
    http, _seeded = seeded_client
    login(http, "tech")
    token = csrf_from(http.get("/").text)
    answer = http.post(
        "/lang", data={"lang": "en", "csrf_token": token, "next": "/agents"}, follow_redirects=False
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/agents"
    assert "Stale agents" in http.get("/").text
    # A new browser (no cookies) gets English again as soon as this user logs in.
    http.cookies.clear()
    assert "Đăng nhập" in http.get("/login").text
    login(http, "tech")
    assert "Overview" in http.get("/").text


def test_switching_back_drops_a_lang_parameter_from_the_return_address(seeded_client: Any) -> None:
    http, _seeded = seeded_client
    token = csrf_from(http.get("/login", params={"lang": "en"}).text)
    form = {"lang": "vi", "csrf_token": token, "next": "/login?lang=en&next=/agents"}
    answer = http.post("/lang", data=form, follow_redirects=False)
    assert answer.headers["location"] == "/login?next=%2Fagents"
    assert "Đăng nhập" in http.get(answer.headers["location"]).text


def test_language_switch_needs_its_csrf_token(seeded_client: Any) -> None:
    http, _seeded = seeded_client
    http.get("/login")
    assert http.post("/lang", data={"lang": "en"}).status_code == 403
    token = csrf_from(http.get("/login").text)
    http.post("/lang", data={"lang": "en", "csrf_token": token})
    assert "Log in" in http.get("/login").text


def test_dates_are_dd_mm_yyyy_in_vietnamese_and_iso_in_english(seeded_client: Any) -> None:
    http, seeded = seeded_client
    login(http, "tech")
    url = f"/devices/{seeded.devices['pc-motcua-01']}"
    assert "02/04/2019" in http.get(url).text  # OS install date, Vietnam time
    assert "2019-04-02" in http.get(url, params={"lang": "en"}).text


# --- administration --------------------------------------------------------------------------------


def test_admin_adds_disables_and_resets_a_user(seeded_client: Any) -> None:
    from fastapi.testclient import TestClient as Client

    http, seeded = seeded_client
    login(http, "admin")
    token = csrf_from(http.get("/admin/users").text)
    added = http.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "username": "can-bo-xa",
            "full_name": "Trần Thị Bình",
            "role": "technician",
            "password": "mat-khau-dai-1",
            "sites": ["XA-DONGANH"],
        },
    )
    assert added.status_code == 200 and "Đã thêm người dùng can-bo-xa" in added.text
    assert "XA-DONGANH" in added.text
    short = http.post(
        "/admin/users",
        data={"csrf_token": token, "username": "x", "role": "viewer", "password": "short"},
    )
    assert short.status_code == 400 and "ít nhất 12 ký tự" in short.text
    common = http.post(
        "/admin/users",
        data={"csrf_token": token, "username": "x", "role": "viewer", "password": "password-123"},
    )
    assert common.status_code == 400 and "Mật khẩu này quá phổ biến" in common.text
    named = http.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "username": "binh.tran",
            "role": "viewer",
            "password": "binh.tran-2025-xyz",
        },
    )
    assert named.status_code == 400 and "không được chứa tên đăng nhập" in named.text

    other = Client(http.app)
    assert login(other, "can-bo-xa", "mat-khau-dai-1").status_code == 303
    assert "pc-xa-01" in other.get("/sites/XA-DONGANH").text
    assert other.get("/sites/PX-PHUCXA").status_code == 404

    user_id = int(re.search(r'href="/admin/users/(\d+)">can-bo-xa<', http.get("/admin/users").text).group(1))
    disabled = http.post(f"/admin/users/{user_id}/disable", data={"csrf_token": token})
    assert "Đã vô hiệu hóa người dùng can-bo-xa" in disabled.text
    assert other.get("/", follow_redirects=False).status_code == 303  # logged out at once
    assert login(other, "can-bo-xa", "mat-khau-dai-1").status_code == 401

    http.post(f"/admin/users/{user_id}/enable", data={"csrf_token": token})
    reset = http.post(f"/admin/users/{user_id}/reset-password", data={"csrf_token": token})
    assert reset.headers["cache-control"] == "no-store"
    new_password = re.search(r'<p class="secret mono">([^<]+)</p>', reset.text).group(1)
    assert "ở lần đăng nhập tiếp theo" in reset.text
    assert login(other, "can-bo-xa", "mat-khau-dai-1").status_code == 401
    assert login(other, "can-bo-xa", new_password).status_code == 303
    # A one-time password: every page leads to the change-password page until it is changed.
    forced = other.get("/sites/XA-DONGANH", follow_redirects=False)
    assert forced.status_code == 303 and forced.headers["location"].startswith("/account/password")
    page = other.get(forced.headers["location"])
    assert "mật khẩu dùng một lần" in page.text
    changed = other.post(
        "/account/password",
        data={
            "csrf_token": csrf_from(page.text),
            "current_password": new_password,
            "new_password": "mat-khau-rieng-cua-binh",
            "confirm_password": "mat-khau-rieng-cua-binh",
            "next": "/sites/XA-DONGANH",
        },
        follow_redirects=False,
    )
    assert changed.status_code == 303 and changed.headers["location"] == "/sites/XA-DONGANH"
    assert "pc-xa-01" in other.get("/sites/XA-DONGANH").text
    assert login(Client(http.app), "can-bo-xa", new_password).status_code == 401  # it worked once

    me = re.search(r'href="/admin/users/(\d+)">admin<', http.get("/admin/users").text).group(1)
    refused = http.post(f"/admin/users/{me}/disable", data={"csrf_token": token})
    assert "Bạn không thể tự vô hiệu hóa tài khoản của mình" in refused.text

    audit = http.get("/admin/audit", params={"actor": "admin", "action": "user."}).text
    for action in ("user.create", "user.disable", "user.enable", "user.reset_password"):
        assert action in audit
    assert "testclient" in audit  # from which address
    filtered = http.get("/admin/audit", params={"action": "user.disable"}).text
    rows = filtered.split("<tbody>")[1]
    assert "user.reset_password" not in rows and "user.disable" in rows
    _ = seeded


def test_admin_creates_an_enroll_secret_shown_once_and_revokes_it(seeded_client: Any) -> None:
    http, _seeded = seeded_client
    login(http, "admin")
    token = csrf_from(http.get("/admin/enroll-secrets").text)
    created = http.post(
        "/admin/enroll-secrets", data={"csrf_token": token, "site": "PX-PHUCXA", "label": "tầng 2"}
    )
    assert created.status_code == 200 and created.headers["cache-control"] == "no-store"
    secret = re.search(r'<p class="secret mono">(wwe_[^<]+)</p>', created.text).group(1)
    assert secret not in http.get("/admin/enroll-secrets").text
    agent_id, key = enroll(http, secret, "pc-tang-2")
    http.cookies.clear()
    login(http, "admin")
    page = http.get("/admin/enroll-secrets").text
    secret_id = re.findall(r"/admin/enroll-secrets/(\d+)/revoke", page)
    for sid in secret_id:
        http.post(f"/admin/enroll-secrets/{sid}/revoke", data={"csrf_token": csrf_from(page)})
    refused = http.post("/api/v1/agents/enroll", json={"secret": secret, "hostname": "late"})
    assert refused.status_code == 401

    # The enrolled agent works until its key is revoked from the agents page.
    body = report_body(agent_id, "pc-tang-2", machine_id="m-9", serial="S9", mac="aa:bb:cc:00:00:09")
    send_report(http, key, body)
    agents = http.get("/agents").text
    assert "pc-tang-2" in agents
    http.post(f"/agents/{agent_id}/revoke", data={"csrf_token": csrf_from(agents)})
    body["report_id"] = "00000000-0000-4000-8000-000000000009"
    answer = http.post("/api/v1/reports", json=body, headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 401
