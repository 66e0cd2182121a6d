"""The action forms of the inspection pages: a technician takes an action on, and only an inspector
or an administrator verifies it."""

from __future__ import annotations

from tests.collector.inspections.support import CSRF, signed_with_failures, web_login


def test_a_technician_follows_an_action_from_the_page(client, seeded):
    signed = signed_with_failures(client, seeded, {"offline_backup"})
    backup = next(a for a in signed["actions"] if a["item_id"] == "offline_backup")
    web_login(client, "tech1")
    page = client.get("/inspections")
    assert page.status_code == 200 and f'action="/actions/{backup["id"]}"' in page.text
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    form = {
        "csrf_token": token,
        "owner": "Chủ tịch UBND phường",
        "status": "in_progress",
        "back": "/inspections",
    }
    r = client.post(f"/actions/{backup['id']}", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/inspections"
    stored = client.get("/api/v1/actions", params={"site": "P01"}, headers=seeded.technician).json()
    row = next(a for a in stored if a["id"] == backup["id"])
    assert row["status"] == "in_progress" and row["owner"] == "Chủ tịch UBND phường"
    # done, then "verified" is not theirs to say: refused, said on the page, nothing changed.
    client.post(f"/actions/{backup['id']}", data={**form, "status": "done"})
    refused = client.post(f"/actions/{backup['id']}", data={**form, "status": "verified"})
    assert "Chỉ cán bộ kiểm tra hoặc quản trị viên được xác minh việc cần làm" in refused.text
    skipped = client.post(f"/actions/{backup['id']}", data={**form, "status": "open"})
    assert "Không thể chuyển sang trạng thái này" in skipped.text
    stored = client.get("/api/v1/actions", params={"site": "P01"}, headers=seeded.technician).json()
    assert next(a for a in stored if a["id"] == backup["id"])["status"] == "done"
    # A form from another site's page, or without its token, changes nothing.
    assert client.post(f"/actions/{backup['id']}", data={**form, "csrf_token": "x"}).status_code == 403
    assert client.post("/actions/987654", data=form).status_code == 404
