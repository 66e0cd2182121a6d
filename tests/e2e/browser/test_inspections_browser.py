"""An inspection end to end in Debian's Chromium (Playwright, headless) against a real collector.

The collector is served by uvicorn on a migrated SQLite file; the site's PCs arrive as real reports from
enrolled agents. In the browser an inspector creates an inspection (automatic items pre-filled from those
reports), answers items offline, comes back online and syncs, adds a photo, signs off and publishes; the
downloaded report verifies with ``wardwatch verify`` and fails once a byte is changed. Screenshots of a
phone (375 px) and a laptop land in tests/artifacts/ for a person to look at.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from inventory.report import CheckResult, CheckStatus
from tests.helpers import PASSWORD, enroll, free_port, host_report, post_report
from tests.signing_pki import configure_signing

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
SITE = "PX-PHUCXA"
PHONE = {"width": 375, "height": 812}
LAPTOP = {"width": 1366, "height": 900}


@dataclass
class Collector:
    url: str
    engine: Any
    data_dir: Path

    def api(self, username: str) -> Any:
        """An HTTP client logged in (bearer token) as ``username``."""
        import httpx

        http = httpx.Client(base_url=self.url, timeout=30)
        r = http.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        return http


def _result(check_id: str, ok: bool, evidence: str) -> CheckResult:
    return CheckResult(
        check_id=check_id, status=CheckStatus.PASS if ok else CheckStatus.FAIL, evidence=evidence
    )


def _seed(engine: Any, url: str) -> None:
    """A ward with three PCs reporting through enrolled agents; an inspector, a second one, an admin."""
    import httpx

    from collector.db import session_scope
    from collector.services.enrollment import create_enroll_secret
    from collector.services.sites import create_site
    from collector.services.users import create_user

    with session_scope(engine) as s:
        create_site(s, code=SITE, name="Phường Phúc Xá", group="Cụm Ba Đình")
        create_user(s, username="lan.nguyen", password=PASSWORD, role="inspector", full_name="Nguyễn Thị Lan")
        create_user(s, username="hung.tran", password=PASSWORD, role="inspector", full_name="Trần Văn Hùng")
        create_user(s, username="admin", password=PASSWORD, role="admin")
        secret = create_enroll_secret(s, site_code=SITE, created_by="admin")
    pcs = {
        # hostname: (firewall on, antivirus signatures fresh)
        "pc-motcua-01": (True, True),
        "pc-motcua-02": (False, True),
        "pc-ketoan": (True, False),
    }
    with httpx.Client(base_url=url, timeout=30) as http:
        for n, (hostname, (firewall, fresh)) in enumerate(pcs.items(), start=1):
            agent = enroll(http, secret, hostname)
            results = [
                _result(
                    "host.firewall.enabled", firewall, "all profiles on" if firewall else "Public profile off"
                ),
                _result("host.antivirus.present", True, "Windows Defender"),
                _result("host.antivirus.enabled", True, "real-time protection on"),
                _result("host.antivirus.signatures_fresh", fresh, "1 day old" if fresh else "41 days old"),
                _result("host.os.supported", True, "Windows 10 22H2"),
                _result("host.updates.recent", True, "last update 3 days ago"),
                _result("host.updates.automatic", True, "automatic updates on"),
            ]
            report = host_report(
                agent.agent_id,
                hostname=hostname,
                machine_id=f"m-{n:04}",
                serial=f"SN{n:04}",
                mac=f"00:11:22:33:44:{n:02x}",
                results=results,
            )
            r = post_report(http, agent, report)
            assert r.status_code == 202, r.text


@pytest.fixture(scope="module")
def collector(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collector]:
    import uvicorn

    from collector.app import create_app
    from collector.settings import CollectorSettings

    folder = tmp_path_factory.mktemp("inspections-live")
    db = folder / "wardwatch.db"
    shutil.copy(sqlite_template, db)
    settings = CollectorSettings(database_url=f"sqlite:///{db}", data_dir=folder / "data")
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped while starting"
        assert time.monotonic() < deadline, "uvicorn did not start within 20 s"
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    _seed(app.state.engine, url)
    configure_signing(app.state.engine, settings.data_dir)
    try:
        yield Collector(url=url, engine=app.state.engine, data_dir=settings.data_dir)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.engine.dispose()


@pytest.fixture
def contexts(browser: Any) -> Iterator[Any]:
    """A factory of fresh browser contexts (own cookies, own localStorage) at a given viewport."""
    made: list[Any] = []

    def make(viewport: dict[str, int] = PHONE) -> Any:
        ctx = browser.new_context(viewport=viewport, locale="vi-VN", accept_downloads=True)
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        ctx.close()


def shot(page: Any, name: str, *, full_page: bool = False) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"insp-{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def log_in(page: Any, collector: Collector, username: str) -> None:
    page.goto(f"{collector.url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(f"{collector.url}/")


def create_inspection(page: Any, collector: Collector, team: str) -> int:
    page.goto(f"{collector.url}/inspections")
    details = page.locator("details.new-inspection")
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    page.select_option("select[name=site]", SITE)
    page.fill("input[name=team]", team)
    page.click("details.new-inspection button[type=submit]")
    page.wait_for_url(f"{collector.url}/inspections/*")
    return int(page.url.rsplit("/", 1)[1])


def item(page: Any, item_id: str) -> Any:
    return page.locator(f'.item[data-item="{item_id}"]')


def answer(page: Any, item_id: str, value: str) -> None:
    """Tap the pass / fail / N/A button of an item (the visible label, as a finger would)."""
    item(page, item_id).locator(f".choice-{value} span").click()


def wait_state(page: Any, state: str, timeout: float = 15_000) -> None:
    # A locator wait, not wait_for_function: the page's CSP forbids the eval that one needs.
    page.locator(f"#sync-status[data-state='{state}']").wait_for(state="attached", timeout=timeout)


def png(width: int = 48, height: int = 32) -> bytes:
    """A real (tiny) PNG photo: a red and grey stripe."""
    rows = b"".join(
        b"\0" + b"".join(b"\xb3\x26\x1e" if x < width // 2 else b"\xcc\xcc\xcc" for x in range(width))
        for _ in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def verify(folder: Path, name: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "collector.cli",
            "verify",
            str(folder / name),
            "--signature",
            str(folder / f"{name}.sig"),
            "--public-key",
            str(folder / "wardwatch-publishing-key.pem"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def download(page: Any, selector: str, folder: Path, name: str) -> Path:
    with page.expect_download() as info:
        page.click(selector)
    path = folder / name
    info.value.save_as(str(path))
    return path


def test_inspection_offline_sync_sign_publish_verify_and_carry_over(
    collector: Collector, contexts: Any, tmp_path: Path
) -> None:
    ctx = contexts(PHONE)
    page = ctx.new_page()
    log_in(page, collector, "lan.nguyen")
    shot(page, "01-list-phone")
    insp_id = create_inspection(page, collector, "Đoàn kiểm tra số 1 — Sở Khoa học và Công nghệ")
    api = collector.api("lan.nguyen")

    # Automatic items come pre-filled from the seeded reports, with the evidence and its age shown.
    firewall = item(page, "firewall")
    assert firewall.get_attribute("data-value") == "fail"
    assert firewall.locator(".choice-fail input").is_checked()
    evidence = firewall.locator(".evidence").inner_text()
    assert "pc-motcua-02" in evidence and "pc-motcua-01" not in evidence
    assert "1 trên 3 thiết bị không đạt" in evidence and "Tường lửa" in evidence
    assert "vừa xong" in evidence or "phút trước" in evidence  # fresh: reported moments ago
    assert item(page, "os_supported").get_attribute("data-value") == "pass"
    assert "pc-ketoan" in item(page, "antivirus").locator(".evidence").inner_text()
    assert item(page, "antivirus").get_attribute("data-value") == "fail"
    no_lan = item(page, "unknown_lan_devices")
    assert no_lan.get_attribute("data-value") == ""
    assert "Chưa có" in no_lan.locator(".evidence").inner_text()
    assert page.locator("#sync-status").get_attribute("data-state") == "online"
    shot(page, "02-prefilled-phone")
    firewall.scroll_into_view_if_needed()
    shot(page, "03-evidence-phone")

    # The tap targets are big enough for a thumb, and nothing spills past the phone's width.
    box = firewall.locator(".choice-pass span").bounding_box()
    assert box is not None and box["height"] >= 44 and box["width"] >= 90
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # Offline: answers are kept on the device and the page says so.
    ctx.set_offline(True)
    offline_answers = {
        "logging": "pass",
        "usb_scanning": "pass",
        "incident_contact": "na",
        "wifi_security": "fail",
    }
    for item_id, value in offline_answers.items():
        answer(page, item_id, value)
    item(page, "wifi_security").locator("textarea").fill("WPS đang bật trên điểm truy cập tầng 2")
    item(page, "wifi_security").locator("textarea").blur()
    wait_state(page, "offline")
    status = page.locator("#sync-status").inner_text()
    assert "Mất kết nối" in status and "giữ trên thiết bị" in status
    assert item(page, "logging").locator(".tag-kept").is_visible()
    queued = json.loads(page.evaluate(f"localStorage.getItem('ww:inspection:{insp_id}:queue')"))
    assert {op["item_id"] for op in queued} == set(offline_answers)
    before = api.get(f"/api/v1/inspections/{insp_id}").json()["answers"]
    assert "logging" not in before  # nothing reached the collector yet
    page.locator("#sync-status").scroll_into_view_if_needed()
    shot(page, "04-offline-phone")

    # Back online: the queue is sent by itself, no reload.
    ctx.set_offline(False)
    wait_state(page, "online")
    assert page.locator("#sync-status").inner_text() == "Đã lưu tất cả thay đổi"
    assert not item(page, "logging").locator(".tag-kept").is_visible()
    assert page.evaluate(f"localStorage.getItem('ww:inspection:{insp_id}:queue')") == "[]"
    shot(page, "05-synced-phone")
    stored = api.get(f"/api/v1/inspections/{insp_id}").json()["answers"]
    for item_id, value in offline_answers.items():
        assert stored[item_id]["value"] == value and stored[item_id]["revision"] == 1, item_id
    assert stored["wifi_security"]["note"] == "WPS đang bật trên điểm truy cập tầng 2"
    # The same changes sent again (a retry after a lost answer) are not applied a second time.
    replay = api.post(f"/api/v1/inspections/{insp_id}/sync", json={"ops": queued}).json()["results"]
    assert {r["outcome"] for r in replay} == {"duplicate"}
    again = api.get(f"/api/v1/inspections/{insp_id}").json()["answers"]
    assert all(again[i]["revision"] == 1 for i in offline_answers)
    from sqlmodel import Session, func, select

    from collector.models.inspections import InspectionAnswer, SyncReceipt

    with Session(collector.engine) as s:
        receipts = s.exec(select(func.count()).where(SyncReceipt.inspection_id == insp_id)).one()
        rows = s.exec(
            select(func.count()).where(
                InspectionAnswer.inspection_id == insp_id,
                InspectionAnswer.item_id.in_(list(offline_answers)),  # type: ignore[attr-defined]
            )
        ).one()
    assert receipts == len(offline_answers) and rows == len(offline_answers)

    # The rest: confirm what the agents said, answer the others; the backup fails, with a photo.
    unanswered = page.locator('.item[data-type="pass_fail"][data-value=""]').evaluate_all(
        "boxes => boxes.map(b => b.dataset.item)"
    )
    assert "offline_backup" in unanswered and "firewall" not in unanswered
    for item_id in unanswered:
        answer(page, item_id, "fail" if item_id == "offline_backup" else "pass")
    item(page, "antivirus").locator("textarea").fill("pc-ketoan: mẫu nhận diện mã độc cũ 41 ngày")
    item(page, "antivirus").locator("textarea").blur()
    item(page, "wifi_ssid_count").locator("input").fill("2")
    item(page, "wifi_ssid_count").locator("input").blur()
    page.select_option('select[name="backup_media"]', "external_disk")
    item(page, "remarks").locator("textarea").fill("Đơn vị phối hợp tốt với đoàn kiểm tra.")
    item(page, "remarks").locator("textarea").blur()
    backup = item(page, "offline_backup")
    assert backup.locator(".photo-upload").is_visible()  # a failed item asks for its evidence
    backup.locator("input[type=file]").set_input_files(
        {"name": "tu-mang.png", "mimeType": "image/png", "buffer": png()}
    )
    backup.locator(".photos img").wait_for()
    assert backup.locator(".item-msg").inner_text() == "Đã lưu ảnh"
    wait_state(page, "online")
    backup.scroll_into_view_if_needed()
    shot(page, "06-photo-phone")
    assert page.locator("#answered").inner_text() == str(
        page.locator('.item[data-answerable="true"]').count()
    )
    assert page.locator("#gaps li:not(.settled)").count() == 0
    photo = backup.locator(".photos img").evaluate("img => img.src")
    assert page.request.get(photo).body() == png()  # stored as sent, served to the logged-in inspector

    # A laptop sees the same page, wider.
    laptop = contexts(LAPTOP).new_page()
    log_in(laptop, collector, "lan.nguyen")
    laptop.goto(f"{collector.url}/inspections/{insp_id}")
    assert item(laptop, "logging").locator(".choice-pass input").is_checked()
    shot(laptop, "07-fill-laptop")
    shot(laptop, "07-fill-laptop-full", full_page=True)

    # Sign off, then publish.
    page.fill("input[name=signature_name]", "Nguyễn Thị Lan")
    page.click("#signoff button[type=submit]")
    page.wait_for_load_state()
    assert "Đã ký" in page.locator(".insp-meta").inner_text()
    assert page.locator(".flash.ok").inner_text() == "Đã ký xác nhận"
    actions = page.locator("#actions").inner_text()
    assert "Có bản sao lưu ngoại tuyến" in actions and "Tường lửa được bật" in actions
    shot(page, "08-signed-phone", full_page=True)
    page.click("#publish button[type=submit]")  # the preview first (private: the box is unticked)
    page.wait_for_url(f"{collector.url}/inspections/{insp_id}/publish*")
    assert page.locator("#preview-private").is_visible()
    page.click("#publish-confirm button[type=submit]")
    page.wait_for_url(f"{collector.url}/published/*")
    slug = page.url.rsplit("/", 1)[1]
    main = page.locator("main").inner_text()
    assert "Điểm tuân thủ" in main and "Tồn tại, hạn chế" in main and "Phường Phúc Xá" in main
    shot(page, "09-published-phone", full_page=True)

    # Download the report, its signature and the city's key; verify; then change one byte.
    folder = tmp_path / "downloads"
    folder.mkdir()
    data = download(page, f'a[href="/published/{slug}.json"]', folder, f"{slug}.json")
    download(page, f'a[href="/published/{slug}.json.sig"]', folder, f"{slug}.json.sig")
    download(
        page, 'a[href="/.well-known/wardwatch-publishing-key.pem"]', folder, "wardwatch-publishing-key.pem"
    )
    doc = json.loads(data.read_bytes())
    assert doc["id"] == slug and doc["inspection"]["signer"]["name"] == "Nguyễn Thị Lan"
    assert {f["item"] for f in doc["findings"]} >= {
        "firewall",
        "antivirus",
        "offline_backup",
        "wifi_security",
    }
    ok = verify(folder, f"{slug}.json")
    assert ok.returncode == 0 and ok.stdout.startswith("OK"), ok.stderr
    body = bytearray(data.read_bytes())
    at = body.index("Phúc Xá".encode())
    body[at] ^= 0x01  # "Phúc" becomes "Qhúc": one byte changed
    data.write_bytes(bytes(body))
    bad = verify(folder, f"{slug}.json")
    assert bad.returncode == 1 and "INVALID" in bad.stderr and "signature does not match" in bad.stderr

    # A share link opens the report without logging in, until it is revoked.
    page.goto(f"{collector.url}/inspections/{insp_id}")
    page.click("#share button[type=submit]")
    page.wait_for_load_state()
    flash = page.locator(".flash.ok").inner_text()
    assert "Đã tạo liên kết chia sẻ" in flash
    link = flash.rsplit(" ", 1)[1]
    anonymous = contexts(PHONE).new_page()
    assert anonymous.goto(f"{collector.url}/published/{slug}").status == 404  # private
    assert anonymous.goto(link).status == 200
    assert "Phường Phúc Xá" in anonymous.locator("h1 + dl").inner_text()
    page.locator("#share").scroll_into_view_if_needed()
    shot(page, "10-share-phone")
    page.click("#share .share-links button")
    page.wait_for_load_state()
    assert page.locator(".flash.ok").inner_text() == "Đã thu hồi liên kết chia sẻ"
    assert anonymous.goto(link).status == 404

    # The next inspection of the ward carries the open actions over.
    laptop.goto(f"{collector.url}/published/{slug}")
    shot(laptop, "10-published-laptop", full_page=True)
    second = create_inspection(page, collector, "Đoàn kiểm tra số 2")
    assert second != insp_id
    carried = page.locator("#actions")
    carried.scroll_into_view_if_needed()
    text = carried.inner_text()
    assert "Có bản sao lưu ngoại tuyến" in text and "chuyển từ lần trước" in text
    assert carried.locator('tr[data-item="offline_backup"] .tag-carried').count() == 1
    shot(page, "11-carried-over-phone")


def test_a_conflicting_offline_answer_is_shown_not_overwritten(collector: Collector, contexts: Any) -> None:
    lan = contexts(PHONE)
    page = lan.new_page()
    log_in(page, collector, "lan.nguyen")
    insp_id = create_inspection(page, collector, "Đoàn kiểm tra số 3")
    # Lan goes offline in the basement and marks the logs as kept...
    lan.set_offline(True)
    answer(page, "logging", "pass")
    wait_state(page, "offline")
    # ...while Hùng, upstairs and online, records that they are not.
    other = contexts(LAPTOP).new_page()
    log_in(other, collector, "hung.tran")
    other.goto(f"{collector.url}/inspections/{insp_id}")
    answer(other, "logging", "fail")
    wait_state(other, "online")
    # Back online, Lan's change is refused and Hùng's answer is shown on her page.
    lan.set_offline(False)
    wait_state(page, "conflict")
    logging = item(page, "logging")
    assert "conflict" in (logging.get_attribute("class") or "")
    assert logging.locator(".choice-fail input").is_checked()
    message = logging.locator(".item-msg").inner_text()
    assert "Người khác đã thay đổi" in message and "Không đạt" in message and "hung.tran" in message
    logging.scroll_into_view_if_needed()
    shot(page, "12-conflict-phone")
    api = collector.api("lan.nguyen")
    assert api.get(f"/api/v1/inspections/{insp_id}").json()["answers"]["logging"]["value"] == "fail"
    # Answering again, on the revision now shown, replaces it.
    answer(page, "logging", "pass")
    wait_state(page, "online")
    assert api.get(f"/api/v1/inspections/{insp_id}").json()["answers"]["logging"]["value"] == "pass"


def test_a_second_tap_while_the_first_is_being_sent_is_not_a_conflict(
    collector: Collector, contexts: Any
) -> None:
    """A quick change of mind: the second answer follows this device's own first one, it is no conflict."""
    page = contexts(PHONE).new_page()
    log_in(page, collector, "lan.nguyen")
    insp_id = create_inspection(page, collector, "Đoàn kiểm tra số 4")
    held: list[Any] = []

    def hold(route: Any) -> None:
        if held:
            route.continue_()  # later requests go through
        else:
            held.append(route)  # the first one stays in flight until continued below

    page.route("**/api/v1/inspections/*/sync", hold)
    answer(page, "usb_scanning", "pass")
    deadline = time.monotonic() + 10
    while not held:
        assert time.monotonic() < deadline, "the page sent nothing"
        page.wait_for_timeout(50)
    answer(page, "usb_scanning", "fail")
    held[0].continue_()
    wait_state(page, "online")
    usb = item(page, "usb_scanning")
    assert "conflict" not in (usb.get_attribute("class") or "")
    assert usb.locator(".choice-fail input").is_checked()
    stored = collector.api("lan.nguyen").get(f"/api/v1/inspections/{insp_id}").json()["answers"]
    assert stored["usb_scanning"]["value"] == "fail" and stored["usb_scanning"]["revision"] == 2


def test_public_publication_is_previewed_then_signed(collector: Collector, contexts: Any) -> None:
    """The lead ticks "public", sees the redacted version (no PC names) on a phone and a laptop, signs
    and publishes; anyone then reads that version, and the full one stays with the site's users."""
    http = collector.api("hung.tran")
    r = http.post("/api/v1/inspections", json={"site": SITE, "team": "Đoàn công khai"})
    assert r.status_code == 201, r.text
    insp = r.json()
    ops = []
    for section in insp["template"]["sections"]:
        for it in section["items"]:
            cur = insp["answers"].get(it["id"], {})
            if it["type"] == "pass_fail" and (cur.get("value") is None or cur.get("value") == "fail"):
                ops.append(
                    {"op_id": f"pub-{it['id']}", "item_id": it["id"], "value": cur.get("value") or "pass",
                     "note": "máy pc-motcua-02 hỏng", "base_revision": cur.get("revision", 0)}
                )  # fmt: skip
    assert http.post(f"/api/v1/inspections/{insp['id']}/sync", json={"ops": ops}).status_code == 200
    signed = http.post(f"/api/v1/inspections/{insp['id']}/signoff", json={"signature_name": "Trần Văn Hùng"})
    assert signed.status_code == 200, signed.text

    for viewport, name in ((LAPTOP, "laptop"), (PHONE, "phone")):
        page = contexts(viewport).new_page()
        log_in(page, collector, "hung.tran")
        page.goto(f"{collector.url}/inspections/{insp['id']}")
        box = page.locator("#publish input[name=public]")
        assert not box.is_checked()  # private unless chosen
        box.check()
        page.click("#publish button[type=submit]")
        page.wait_for_url(f"{collector.url}/inspections/{insp['id']}/publish?public=on")
        assert page.locator("#preview-public").is_visible()
        main = page.locator("main").inner_text()
        assert "Tồn tại, hạn chế" in main and "pc-motcua-02" not in main and "Đoàn công khai" not in main
        shot(page, f"12-public-preview-{name}", full_page=True)
    page.click("#publish-confirm button[type=submit]")
    page.wait_for_url(f"{collector.url}/published/*")
    slug = page.url.rsplit("/", 1)[1]
    assert "pc-motcua-02" in page.locator("main").inner_text()  # the site's users read the full record
    anonymous = contexts(LAPTOP).new_page()
    assert anonymous.goto(f"{collector.url}/published/{slug}").status == 200
    assert anonymous.locator("#public-version").is_visible()
    assert "pc-motcua-02" not in anonymous.locator("main").inner_text()
    shot(anonymous, "13-public-report-laptop", full_page=True)
