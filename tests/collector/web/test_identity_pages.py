"""The identity conflict, device move and site pages over plain HTTP, as each kind of administrator
(SQLite and PostgreSQL): who sees what, who may do what, and what a refusal says."""

from __future__ import annotations

import re

from sqlmodel import Session, select

from collector.models.core import Agent, Device
from tests.helpers import enroll, host_report, post_report, seed_site, user_token

PASSWORD = "correct horse battery"


def web_login(client, username: str) -> None:  # type: ignore[no-untyped-def]
    client.cookies.clear()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)  # type: ignore[union-attr]
    r = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": csrf, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def csrf(client, path: str) -> str:  # type: ignore[no-untyped-def]
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)  # type: ignore[union-attr]


def _forged(client, app):  # type: ignore[no-untyped-def]
    engine = app.state.engine
    owner = enroll(client, seed_site(engine, "B01", "Xã B"), "pc-b")
    forger = enroll(client, seed_site(engine, "A01", "Phường A"), "forger")
    device = post_report(client, owner, host_report(owner.agent_id, hostname="pc-b")).json()["device_id"]
    flagged = post_report(client, forger, host_report(forger.agent_id, hostname="pc-b")).json()["device_id"]
    for name, sites in (("city", None), ("adm-a", ["A01"]), ("adm-b", ["B01"])):
        user_token(client, engine, username=name, role="admin", sites=sites, password=PASSWORD)
    return owner, forger, device, flagged


def test_each_site_admin_sees_the_claim_and_only_its_own_side(client, app):
    _owner, _forger, device, flagged = _forged(client, app)
    web_login(client, "adm-b")
    page = client.get("/admin/identity").text
    assert f'href="/devices/{device}"' in page and f'href="/devices/{flagged}"' not in page
    assert "Một tác tử của đơn vị XA" not in page
    web_login(client, "adm-a")
    page = client.get("/admin/identity").text
    assert f'href="/devices/{flagged}"' in page and f'href="/devices/{device}"' not in page
    assert client.get(f"/devices/{device}").status_code == 404
    assert "Xung đột định danh" in client.get(f"/devices/{flagged}").text


def test_web_refusals_say_why_and_revoke_works_for_the_claimants_admin(client, app):
    _owner, forger, device, _flagged = _forged(client, app)
    web_login(client, "adm-a")
    token = csrf(client, "/admin/identity")
    # The claiming site's admin cannot take the other site's device...
    r = client.post(
        "/admin/identity/1", data={"action": "merge", "csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303
    assert "Chỉ quản trị viên của đơn vị có thiết bị" in client.get("/admin/identity").text
    bad = client.post(
        "/admin/identity/1", data={"action": "steal", "csrf_token": token}, follow_redirects=False
    )
    assert "Hãy chọn cách xử lý xung đột." in client.get(bad.headers["location"]).text
    # ...but revokes its own agent.
    client.post(
        "/admin/identity/1",
        data={"action": "revoke", "csrf_token": token, "note": "máy lạ"},
        follow_redirects=False,
    )
    assert "Đã thu hồi khóa của tác tử yêu cầu." in client.get("/admin/identity").text
    with Session(app.state.engine) as s:
        assert s.get(Agent, forger.agent_id).revoked_at is not None
        assert s.get(Device, device).agent_id != forger.agent_id
    assert (
        client.post("/admin/identity/99", data={"action": "revoke", "csrf_token": token}).status_code == 404
    )


def test_device_move_form_and_site_pages_for_scoped_and_city_admins(client, app):
    owner, _forger, device, _flagged = _forged(client, app)
    web_login(client, "adm-b")
    shown = client.get(f"/devices/{device}")
    page = shown.text
    # Its device, but no site to move it to within its scope: no move form, and never A01.
    assert shown.status_code == 200 and "pc-b" in page
    assert 'id="device-move"' not in page and 'value="A01"' not in page
    sites = client.get("/admin/sites").text
    assert "B01" in sites and "A01" not in sites and 'action="/admin/sites"' not in sites
    token = csrf(client, "/admin/sites")
    assert (
        client.post("/admin/sites", data={"code": "Z1", "name": "Z", "csrf_token": token}).status_code == 403
    )
    assert client.get("/admin/sites/merge").status_code == 403
    assert client.get("/admin/sites/A01").status_code == 404

    web_login(client, "city")
    token = csrf(client, f"/devices/{device}")
    r = client.post(
        f"/devices/{device}/move",
        data={"site": "A01", "reason": "", "csrf_token": token},
        follow_redirects=False,
    )
    assert (
        r.status_code == 303
        and "Đã chuyển thiết bị sang đơn vị A01." in client.get(r.headers["location"]).text
    )
    with Session(app.state.engine) as s:
        site_a = s.get(Agent, owner.agent_id).site_id
        assert s.exec(select(Device.site_id).where(Device.id == device)).one() == site_a
    bad = client.post("/admin/sites", data={"code": "x y", "name": "Z", "csrf_token": token})
    assert bad.status_code == 400 and "Mã gồm 1 đến 64 ký tự" in bad.text
    dup = client.post("/admin/sites", data={"code": "A01", "name": "Z", "csrf_token": token})
    assert dup.status_code == 400 and "Đã có đơn vị với mã này." in dup.text
    wrong = client.post(
        "/admin/sites/merge",
        data={"source": "A01", "target": "B01", "confirm": "A01", "csrf_token": token},
        follow_redirects=False,
    )
    assert "Hãy gõ mã của đơn vị được giữ lại" in client.get(wrong.headers["location"]).text
