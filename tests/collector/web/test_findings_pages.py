"""Findings pages over HTTP: list with filters and site scope, detail with history and the
accept-risk form (CSRF), compliance on the site and device pages, in Vietnamese and English."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from tests.collector.web.support import XSS_HOST, csrf_from, login


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _finding_ids(html: str) -> list[int]:
    return sorted({int(x) for x in re.findall(r'href="/findings/(\d+)"', html)})


def test_list_shows_open_findings_with_due_dates_in_vietnamese(seeded_client: Any) -> None:
    http, seeded = seeded_client
    login(http, "admin")
    page = http.get("/findings")
    assert page.status_code == 200
    text = _text(page.text)
    # Every seeded PC reports its firewall check failing.
    assert text.count("Tường lửa trên máy được bật") == len(seeded.devices)
    assert "Hạn khắc phục" in text and "Chưa khắc phục" in text and "Cao" in text
    assert XSS_HOST not in page.text and "&lt;script&gt;" in page.text
    english = _text(http.get("/findings?lang=en").text)
    assert "Host firewall enabled" in english and "Due date" in english


def test_filters_and_site_scope(seeded_client: Any) -> None:
    http, seeded = seeded_client
    login(http, "viewer-a")  # scoped to PX-PHUCXA
    text = _text(http.get("/findings").text)
    assert "pc-motcua-01" in text and "pc-xa-01" not in text
    assert http.get("/findings?site=XA-DONGANH").status_code == 404
    assert _finding_ids(http.get("/findings?severity=low").text) == []
    assert len(_finding_ids(http.get("/findings?severity=high&site=PX-PHUCXA").text)) == 3
    assert _finding_ids(http.get("/findings?status=resolved").text) == []
    http.cookies.clear()
    login(http, "admin")
    other = _finding_ids(http.get("/findings?site=XA-DONGANH").text)
    http.cookies.clear()
    login(http, "viewer-a")
    assert http.get(f"/findings/{other[0]}").status_code == 404


def test_detail_shows_remediation_and_history_and_only_staff_may_accept(seeded_client: Any) -> None:
    http, seeded = seeded_client
    login(http, "viewer-a")
    fid = _finding_ids(http.get("/findings").text)[0]
    page = http.get(f"/findings/{fid}")
    text = _text(page.text)
    assert "Biện pháp khắc phục" in text and "Windows Defender Firewall" in text
    assert "TCVN 11930:2017" in text and "Lịch sử" in text and "Phát hiện" in text
    assert 'id="accept-risk"' not in page.text
    # A viewer posting the form anyway is refused.
    answer = http.post(
        f"/findings/{fid}/accept",
        data={"reason": "x" * 10, "until": "2099-01-01", "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 403


def test_technician_accepts_a_risk_through_the_form(seeded_client: Any) -> None:
    http, _ = seeded_client
    login(http, "tech")
    fid = _finding_ids(http.get("/findings").text)[0]
    page = http.get(f"/findings/{fid}")
    assert 'id="accept-risk"' in page.text
    until = (date.today() + timedelta(days=30)).isoformat()
    form = {"reason": "Máy chờ thay thế theo kế hoạch", "until": until}
    no_csrf = http.post(f"/findings/{fid}/accept", data=form, follow_redirects=False)
    assert no_csrf.status_code == 403
    answer = http.post(
        f"/findings/{fid}/accept", data={**form, "csrf_token": csrf_from(page.text)}, follow_redirects=False
    )
    assert answer.status_code == 303
    after = _text(http.get(f"/findings/{fid}").text)
    assert "Đã chấp nhận rủi ro đến ngày" in after  # the flash
    assert "Máy chờ thay thế theo kế hoạch" in after and "tech" in after
    assert fid not in _finding_ids(http.get("/findings?status=open").text)
    assert fid in _finding_ids(http.get("/findings?status=accepted").text)
    # A bad date is explained, not a crash.
    page = http.get(f"/findings/{fid}")
    bad = http.post(
        f"/findings/{fid}/accept",
        data={"reason": "again", "until": "someday", "csrf_token": csrf_from(page.text)},
        follow_redirects=True,
    )
    assert "Hãy nhập ngày hết hạn chấp nhận rủi ro" in _text(bad.text)


def test_compliance_on_site_and_device_pages(seeded_client: Any) -> None:
    http, seeded = seeded_client
    login(http, "admin")
    site = http.get("/sites/PX-PHUCXA")
    assert site.status_code == 200
    # 3 devices, each 1 pass (OS supported) and 1 fail (firewall): 50%.
    assert 'data-compliance="50"' in site.text and "Điểm tuân thủ" in site.text
    device = http.get(f"/devices/{seeded.devices['pc-motcua-01']}")
    assert 'data-compliance="50"' in device.text
    assert "Tường lửa trên máy được bật" in _text(device.text.split('id="device-compliance"')[1])
