"""Network devices at the collector: configuration versions from polled reports, diffs, the pages,
and the managed device list with encrypted passwords. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import stat

from sqlmodel import Session, select

from collector.models.core import AuditEvent
from collector.models.netdevices import ManagedNetDevice, NetDeviceConfig
from tests.collector.planning.seed import login
from tests.collector.support import BASE_CONFIG, netdev_report, ww
from tests.helpers import enroll, host_report, post_report, seed_site, user_token


def _post_three(client, engine):  # type: ignore[no-untyped-def]
    agent = enroll(client, seed_site(engine, "P01"), "poller-pc")
    first = post_report(client, agent, netdev_report(agent.agent_id, BASE_CONFIG))
    assert first.status_code == 202, first.text
    device_id = first.json()["device_id"]
    # same configuration, later poll (uptime moved): no new version
    post_report(client, agent, netdev_report(agent.agent_id, BASE_CONFIG, uptime=90000))
    changed = BASE_CONFIG.replace(" transport input ssh\n", " transport input ssh\n exec-timeout 10 0\n")
    post_report(client, agent, netdev_report(agent.agent_id, changed, uptime=93600))
    return agent, device_id


def test_versions_only_when_the_config_changes_and_changes_are_marked(client, app):
    engine = app.state.engine
    _agent, device_id = _post_three(client, engine)
    with Session(engine) as s:
        versions = s.exec(
            select(NetDeviceConfig).where(NetDeviceConfig.device_id == device_id).order_by(NetDeviceConfig.id)
        ).all()
        assert [v.changed for v in versions] == [False, True]
        assert versions[1].previous_id == versions[0].id
        assert versions[0].last_seen_at >= versions[0].first_seen_at
        assert versions[0].os_version == "17.9.4a"
        events = s.exec(select(AuditEvent).where(AuditEvent.action == "netdevice.config_changed")).all()
        assert len(events) == 1 and events[0].target == "xa-a-core"


def test_api_lists_versions_shows_text_and_diffs(client, app):
    engine = app.state.engine
    _agent, device_id = _post_three(client, engine)
    headers = user_token(client, engine)
    versions = client.get(f"/api/v1/devices/{device_id}/configs", headers=headers).json()
    assert [v["changed"] for v in versions] == [True, False]  # newest first
    new, old = versions[0]["id"], versions[1]["id"]
    text = client.get(f"/api/v1/devices/{device_id}/configs/{old}", headers=headers).json()["text"]
    assert text == BASE_CONFIG
    diff = client.get(
        f"/api/v1/devices/{device_id}/configs/diff", params={"a": old, "b": new}, headers=headers
    )
    assert diff.status_code == 200
    body = diff.json()
    assert (body["added"], body["removed"]) == (1, 0)
    assert "+ exec-timeout 10 0" in body["diff"]
    missing = client.get(
        f"/api/v1/devices/{device_id}/configs/diff", params={"a": old, "b": 999999}, headers=headers
    )
    assert missing.status_code == 404


def test_configs_are_scoped_to_the_users_sites(client, app):
    engine = app.state.engine
    _agent, device_id = _post_three(client, engine)
    seed_site(engine, "X02", "Xã Bình Chánh")
    other = user_token(client, engine, username="x02-tech", sites=["X02"])
    assert client.get(f"/api/v1/devices/{device_id}/configs", headers=other).status_code == 404
    own = user_token(client, engine, username="p01-viewer", role="viewer", sites=["P01"])
    assert client.get(f"/api/v1/devices/{device_id}/configs", headers=own).status_code == 200


def test_a_host_has_no_configuration_history(client, app):
    engine = app.state.engine
    agent = enroll(client, seed_site(engine, "P01"), "pc-01")
    device_id = post_report(client, agent, host_report(agent.agent_id)).json()["device_id"]
    headers = user_token(client, engine)
    assert client.get(f"/api/v1/devices/{device_id}/configs", headers=headers).status_code == 404


def test_device_site_and_diff_pages(client, app):
    engine = app.state.engine
    _agent, device_id = _post_three(client, engine)
    login(client, engine, username="ktv", role="technician")
    page = client.get(f"/devices/{device_id}")
    assert page.status_code == 200
    assert "Lịch sử cấu hình" in page.text and "C9200L-24P-4G" in page.text and "đã thay đổi" in page.text
    site = client.get("/sites/P01")
    assert site.status_code == 200 and "Thiết bị mạng" in site.text and "xa-a-core" in site.text
    versions = client.get(f"/api/v1/devices/{device_id}/configs").json()
    new, old = versions[0]["id"], versions[1]["id"]
    diff = client.get(f"/devices/{device_id}/configs/diff", params={"a": old, "b": new})
    assert diff.status_code == 200 and "exec-timeout 10 0" in diff.text and "Thay đổi cấu hình" in diff.text
    one = client.get(f"/devices/{device_id}/configs/{old}")
    assert one.status_code == 200 and "transport input ssh" in one.text
    en = client.get(f"/devices/{device_id}", params={"lang": "en"})
    assert "Configuration history" in en.text


def test_managed_device_list_crud_with_encrypted_passwords(client, app, settings):
    engine = app.state.engine
    seed_site(engine, "P01")
    admin = user_token(client, engine, username="root", role="admin")
    tech = user_token(client, engine, username="ktv2", role="technician")
    body = {"site": "P01", "name": "xa-a-core", "host": "192.168.10.1", "platform": "cisco_ios",
            "username": "ww", "password": "R0uter-Pa55!"}  # fmt: skip
    assert client.post("/api/v1/netdevices", json=body, headers=tech).status_code == 403
    r = client.post("/api/v1/netdevices", json=body, headers=admin)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["has_password"] is True and "password" not in out and "R0uter-Pa55!" not in r.text
    assert client.post("/api/v1/netdevices", json=body, headers=admin).status_code == 409
    key_file = settings.data_dir / "netdevices.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    with Session(engine) as s:
        row = s.exec(select(ManagedNetDevice)).one()
        assert row.password_enc and b"R0uter-Pa55!" not in row.password_enc
        from collector.services.netdevices import load_key, managed_password

        assert managed_password(row, load_key(settings.data_dir)) == "R0uter-Pa55!"
    listed = client.get("/api/v1/netdevices", params={"site": "P01"}, headers=admin).json()
    assert [d["name"] for d in listed] == ["xa-a-core"] and "R0uter-Pa55!" not in str(listed)
    upd = client.put(
        f"/api/v1/netdevices/{out['id']}", json={**body, "port": 2222, "password": None}, headers=admin
    )
    assert upd.status_code == 200 and upd.json()["port"] == 2222 and upd.json()["has_password"] is True
    bad = client.post("/api/v1/netdevices", json={**body, "name": "x", "platform": "cisco"}, headers=admin)
    assert bad.status_code == 422
    assert client.delete(f"/api/v1/netdevices/{out['id']}", headers=admin).status_code == 204
    assert client.get("/api/v1/netdevices", headers=admin).json() == []


def test_an_admin_scoped_to_one_site_manages_only_its_devices(client, app):
    engine = app.state.engine
    seed_site(engine, "P01")
    seed_site(engine, "X02", "Xã Bình Chánh")
    root = user_token(client, engine, username="root", role="admin")
    scoped = user_token(client, engine, username="x02-admin", role="admin", sites=["X02"])
    body = {"site": "P01", "name": "xa-a-core", "host": "192.168.10.1", "platform": "cisco_ios",
            "username": "ww", "password": "R0uter-Pa55!"}  # fmt: skip
    p01 = client.post("/api/v1/netdevices", json=body, headers=root).json()
    # Naming another site is refused (403); another site's device does not exist for it (404).
    assert client.post("/api/v1/netdevices", json={**body, "name": "b"}, headers=scoped).status_code == 403
    own = client.post("/api/v1/netdevices", json={**body, "site": "X02", "name": "x02-sw"}, headers=scoped)
    assert own.status_code == 201, own.text
    assert [d["name"] for d in client.get("/api/v1/netdevices", headers=scoped).json()] == ["x02-sw"]
    moved = {**body, "site": "X02"}
    assert client.put(f"/api/v1/netdevices/{p01['id']}", json=moved, headers=scoped).status_code == 404
    to_p01 = {**body, "name": "x02-sw"}
    own_id = own.json()["id"]
    assert client.put(f"/api/v1/netdevices/{own_id}", json=to_p01, headers=scoped).status_code == 403
    assert client.delete(f"/api/v1/netdevices/{p01['id']}", headers=scoped).status_code == 404
    assert sorted(d["name"] for d in client.get("/api/v1/netdevices", headers=root).json()) == [
        "x02-sw",
        "xa-a-core",
    ]


def test_rotating_the_device_password_key_re_encrypts_every_password(client, app, settings):
    from cryptography.fernet import Fernet, InvalidToken

    from collector.services.netdevices import load_key, managed_password

    engine = app.state.engine
    seed_site(engine, "P01")
    admin = user_token(client, engine, username="root", role="admin")
    for n in (1, 2):
        body = {"site": "P01", "name": f"sw-{n}", "host": f"192.168.10.{n}", "platform": "cisco_ios",
                "username": "ww", "password": f"Pa55-{n}"}  # fmt: skip
        assert client.post("/api/v1/netdevices", json=body, headers=admin).status_code == 201
    old_key = load_key(settings.data_dir)
    with Session(engine) as s:
        before = {r.name: r.password_enc for r in s.exec(select(ManagedNetDevice)).all()}
    done = ww("keys", "rotate", "device-passwords",
              "--data-dir", str(settings.data_dir), "--database-url", settings.database_url)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "2 stored password(s) re-encrypted" in done.stdout
    new_key = load_key(settings.data_dir)
    assert new_key != old_key and len(new_key.split()) == 1
    assert stat.S_IMODE((settings.data_dir / "netdevices.key").stat().st_mode) == 0o600
    with Session(engine) as s:
        rows = s.exec(select(ManagedNetDevice).order_by(ManagedNetDevice.name)).all()
        assert [managed_password(r, new_key) for r in rows] == ["Pa55-1", "Pa55-2"]
        for r in rows:
            assert r.password_enc != before[r.name]
            try:
                Fernet(old_key).decrypt(r.password_enc)  # type: ignore[arg-type]
                raise AssertionError("the old key still opens a re-encrypted password")
            except InvalidToken:
                pass
