"""A refusal from a service reads in the viewer's language on the page (ServiceError.text), not in the
English of the service: the search box, a table's filters, the site merge form, the lead-inspector form."""

from __future__ import annotations

import html
import re
from typing import Any

from tests.collector.web.support import csrf_from, login


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def test_a_search_too_short_is_refused_in_the_viewers_language(seeded_client: Any) -> None:
    http, _seeded = seeded_client
    login(http, "admin")
    page = http.get("/search", params={"q": "a"})
    assert "hãy nhập ít nhất 2 ký tự để tìm kiếm" in _text(page.text)
    assert "type at least" not in page.text
    english = http.get("/search", params={"q": "a", "lang": "en"})
    assert "type at least 2 characters to search" in _text(english.text)


def test_a_table_filter_it_does_not_know_is_refused_in_the_viewers_language(seeded_client: Any) -> None:
    http, _seeded = seeded_client
    login(http, "admin")
    page = http.get("/devices", params={"kind": "toaster"})
    assert page.status_code == 400
    assert "kind: 'toaster' không phải một trong host, network_device" in _text(page.text)
    assert "is not one of" not in page.text
    english = http.get("/devices", params={"kind": "toaster", "lang": "en"})
    assert "kind: 'toaster' is not one of host, network_device" in _text(english.text)


def test_merging_a_site_into_itself_is_refused_in_the_viewers_language(seeded_client: Any) -> None:
    http, seeded = seeded_client
    login(http, "admin")
    code = seeded.sites["a"]
    token = csrf_from(http.get("/admin/sites/merge").text)
    form = {"source": code, "target": code, "confirm": code, "csrf_token": token}
    answer = http.post("/admin/sites/merge", data=form)
    assert "hãy chọn hai đơn vị khác nhau để gộp" in _text(answer.text)
    assert "choose two different sites" not in answer.text
    token = csrf_from(http.get("/admin/sites/merge", params={"lang": "en"}).text)
    answer = http.post("/admin/sites/merge?lang=en", data={**form, "csrf_token": token})
    assert "choose two different sites to merge" in _text(answer.text)


def test_a_lead_inspector_refused_reads_in_the_viewers_language(seeded_client: Any) -> None:
    http, seeded = seeded_client
    login(http, "admin")
    token = csrf_from(http.get("/inspections").text)
    form = {"site": seeded.sites["a"], "lead": "nobody-here", "csrf_token": token}
    answer = http.post("/inspections", data=form)
    assert "Trưởng đoàn kiểm tra phải là cán bộ kiểm tra hoặc quản trị viên đang hoạt động" in _text(
        answer.text
    )
    assert "lead inspector" not in answer.text.lower()


def test_a_checklist_or_day_the_form_never_offers_is_refused_in_the_viewers_language(
    seeded_client: Any,
) -> None:
    http, seeded = seeded_client
    login(http, "admin")
    token = csrf_from(http.get("/inspections").text)
    form = {"site": seeded.sites["a"], "template": "no-such-list", "csrf_token": token}
    page = _text(http.post("/inspections", data=form).text)
    assert "Phiếu kiểm tra: 'no-such-list' không phải một trong" in page
    form = {"site": seeded.sites["a"], "scheduled_for": "31/31/2026", "csrf_token": token}
    page = _text(http.post("/inspections", data=form).text)
    assert ": hãy ghi ngày theo dạng dd/mm/yyyy" in page and "Invalid isoformat" not in page
