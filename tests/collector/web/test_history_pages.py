"""History pages over HTTP: the device's History tab, the site's Changes tab with its date filter,
"changes this week" on the site page, and resolving a suspicious-change finding through its form."""

from __future__ import annotations

import re
from typing import Any

from tests.collector.web.support import changed_pc, csrf_from, login


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_device_history_tab_and_site_changes_in_vietnamese(seeded_client: Any) -> None:
    http, seeded = seeded_client
    device_id = changed_pc(http, http.app.state.engine)
    login(http, "tech")
    page = http.get(f"/devices/{device_id}/history")
    assert page.status_code == 200
    text = _text(page.text)
    assert "Bộ nhớ (RAM) giảm từ 8.0 GB xuống 4.0 GB" in text
    assert "Cài đặt UltraViewer 6.6.50" in text and "đáng ngờ" in text
    assert f'href="/devices/{device_id}/history" class="active"' in page.text  # its tab is marked
    only_hw = _text(http.get(f"/devices/{device_id}/history?category=hardware").text)
    assert "Bộ nhớ (RAM) giảm" in only_hw and "UltraViewer" not in only_hw

    site = http.get("/sites/PX-PHUCXA")
    week = _text(site.text)
    assert "Thay đổi trong tuần" in week and "2 đáng ngờ" in week and "pc-ketoan" in week
    changes = http.get("/sites/PX-PHUCXA/changes")
    assert changes.status_code == 200 and "pc-ketoan" in changes.text
    english = _text(http.get("/sites/PX-PHUCXA/changes?lang=en&suspicious=1").text)
    assert "Installed UltraViewer 6.6.50" in english and "Memory (RAM) decreased" in english
    bad = http.get("/sites/PX-PHUCXA/changes?since=tuesday")
    assert bad.status_code == 422 and "dd/mm/yyyy" in bad.text
    assert "pc-ketoan" not in http.get("/sites/PX-PHUCXA/changes?since=01/01/2099").text
    # Another site's device: the same answer as a missing one.
    http.cookies.clear()
    login(http, "viewer-a")
    xa = seeded.devices["pc-xa-01"]
    assert http.get(f"/devices/{xa}/history").status_code == 404
    assert http.get("/sites/XA-DONGANH/changes").status_code == 404


def test_a_technician_resolves_a_suspicious_change_with_a_note(seeded_client: Any) -> None:
    http, _ = seeded_client
    device_id = changed_pc(http, http.app.state.engine)
    login(http, "viewer-a")
    findings = http.get(f"/findings?device={device_id}&check=change.remote_access_tool").text
    fid = int(re.findall(r'href="/findings/(\d+)"', findings)[0])
    assert 'id="resolve-change"' not in http.get(f"/findings/{fid}").text  # viewers do not resolve
    http.cookies.clear()
    login(http, "tech")
    page = http.get(f"/findings/{fid}")
    assert 'id="resolve-change"' in page.text
    token = csrf_from(page.text)
    short = http.post(f"/findings/{fid}/resolve", data={"note": "ok", "csrf_token": token})
    assert "ít nhất 5 ký tự" in short.text
    done = http.post(
        f"/findings/{fid}/resolve", data={"note": "Cán bộ cài để hỗ trợ, đã gỡ", "csrf_token": token}
    )
    assert done.status_code == 200 and "Đã khắc phục" in _text(done.text)
    assert 'id="resolve-change"' not in done.text
    # A firewall finding has no such form: it closes when the check passes.
    fw = re.findall(r'href="/findings/(\d+)"', http.get("/findings?check=host.firewall.enabled").text)[0]
    assert 'id="resolve-change"' not in http.get(f"/findings/{fw}").text
