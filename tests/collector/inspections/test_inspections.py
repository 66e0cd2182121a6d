"""Inspections through the API: pre-filled items, offline sync, photos, scoring, sign-off, actions."""

from __future__ import annotations

import io

from collector.services.checklists import get_template, shipped_templates
from collector.services.inspections import score
from tests.collector.inspections.support import PNG, answer_all, create, op
from tests.helpers import user_token


def test_automatic_items_are_prefilled_from_agent_evidence(client, seeded):
    insp = create(client, seeded.inspector)
    firewall = insp["answers"]["firewall"]
    assert firewall["value"] == "fail" and firewall["source"] == "auto"
    assert "pc-2" in firewall["auto_evidence"] and "pc-1" not in firewall["auto_evidence"]
    assert firewall["auto_as_of"] is not None  # says how fresh the evidence is
    assert insp["answers"]["os_supported"]["value"] == "pass"
    assert insp["answers"]["antivirus"]["value"] == "fail"  # stale signatures on pc-2
    # No LAN scan was reported at this site: the item stays for the inspectors to answer.
    assert insp["answers"]["unknown_lan_devices"]["value"] is None


def test_sync_is_idempotent_and_conflict_safe(client, seeded):
    insp = create(client, seeded.inspector)
    first = op("logging", "pass")
    url = f"/api/v1/inspections/{insp['id']}/sync"
    assert (
        client.post(url, json={"ops": [first]}, headers=seeded.inspector).json()["results"][0]["outcome"]
        == "applied"
    )
    replay = client.post(url, json={"ops": [first]}, headers=seeded.inspector).json()["results"][0]
    assert replay["outcome"] == "duplicate" and replay["server"]["revision"] == 1
    # A second inspector's offline edit made on revision 0 disagrees: the server's answer is kept.
    stale = client.post(url, json={"ops": [op("logging", "fail", base=0)]}, headers=seeded.admin).json()
    assert stale["results"][0]["outcome"] == "conflict"
    assert stale["results"][0]["server"]["value"] == "pass"
    # The same edit on the current revision applies.
    ok = client.post(url, json={"ops": [op("logging", "fail", base=1)]}, headers=seeded.admin).json()
    assert ok["results"][0]["outcome"] == "applied"
    bad = client.post(url, json={"ops": [op("logging", "maybe", base=2)]}, headers=seeded.admin).json()
    assert bad["results"][0]["outcome"] == "rejected" and "must be one of" in bad["results"][0]["message"]


def test_overriding_automatic_evidence_is_recorded(client, seeded):
    insp = create(client, seeded.inspector)
    fw = insp["answers"]["firewall"]
    r = client.post(
        f"/api/v1/inspections/{insp['id']}/sync",
        json={"ops": [op("firewall", "pass", "pc-2 was fixed during the visit", fw["revision"])]},
        headers=seeded.inspector,
    )
    server = r.json()["results"][0]["server"]
    assert server["source"] == "override" and server["auto_value"] == "fail"


def test_photos_are_checked_and_served_only_to_those_allowed(client, seeded):
    insp = create(client, seeded.inspector)
    url = f"/api/v1/inspections/{insp['id']}/photos"
    fake = client.post(
        url,
        data={"item_id": "server_room_photo"},
        files={"file": ("x.jpg", io.BytesIO(b"<script>alert(1)</script>"), "image/jpeg")},
        headers=seeded.inspector,
    )
    assert fake.status_code == 400 and "JPEG, PNG or WebP" in fake.json()["detail"]
    r = client.post(
        url,
        data={"item_id": "server_room_photo"},
        files={"file": ("cabinet.png", io.BytesIO(PNG), "image/png")},
        headers=seeded.inspector,
    )
    assert r.status_code == 201
    photo_url = f"{url}/{r.json()['id']}"
    assert client.get(photo_url, headers=seeded.technician).content == PNG
    assert client.get(photo_url, headers=seeded.viewer).status_code == 403
    assert client.get(photo_url).status_code == 401
    other = user_token(client, client.app.state.engine, username="x02-tech", role="technician", sites=["X02"])
    assert client.get(photo_url, headers=other).status_code == 404


def test_sign_off_needs_answers_evidence_and_the_lead(client, seeded):
    insp = create(client, seeded.inspector)
    url = f"/api/v1/inspections/{insp['id']}/signoff"
    early = client.post(url, json={"signature_name": "Nguyễn Văn Lân"}, headers=seeded.inspector)
    assert early.status_code == 409 and "not answered" in early.json()["detail"]
    answer_all(client, seeded.inspector, insp)
    # A failed item that requires evidence needs a note or a photo.
    fw = client.get(f"/api/v1/inspections/{insp['id']}", headers=seeded.inspector).json()["answers"][
        "antivirus"
    ]
    assert fw["value"] == "fail" and not fw["note"]
    blocked = client.post(url, json={"signature_name": "Nguyễn Văn Lân"}, headers=seeded.inspector)
    assert (
        blocked.status_code == 409
        and "antivirus: failed, needs a photo or a note" in blocked.json()["detail"]
    )
    client.post(
        f"/api/v1/inspections/{insp['id']}/sync",
        json={"ops": [op("antivirus", "fail", "pc-2: chữ ký cũ 40 ngày", fw["revision"])]},
        headers=seeded.inspector,
    )
    other = user_token(client, client.app.state.engine, username="other-inspector", role="inspector")
    not_lead = client.post(url, json={"signature_name": "X"}, headers=other)
    assert not_lead.status_code == 400 and "lead inspector" in not_lead.json()["detail"]
    done = client.post(url, json={"signature_name": "Nguyễn Văn Lân"}, headers=seeded.inspector)
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["status"] == "signed" and body["answers"]["lead_signature"]["value"] == "Nguyễn Văn Lân"
    assert {a["item_id"] for a in body["actions"]} == {"firewall", "antivirus"}
    assert all(a["status"] == "open" for a in body["actions"])
    late = client.post(
        f"/api/v1/inspections/{insp['id']}/sync",
        json={"ops": [op("logging", "fail")]},
        headers=seeded.inspector,
    )
    assert late.status_code == 409


def test_score_is_weighted_and_leaves_out_na():
    t = get_template("commune-security")
    values = {i.id: "pass" for _, i in t.items() if i.scored}
    assert score(t, values).overall == 100.0
    values["antivirus"] = "fail"  # weight 3
    total = sum(i.weight for _, i in t.items() if i.scored)
    assert score(t, values).overall == round(100 * (total - 3) / total, 1)
    values["offline_backup"] = "na"  # weight 3, left out
    assert score(t, values).overall == round(100 * (total - 6) / (total - 3), 1)
    low = {i.id: "fail" for _, i in t.items() if i.scored}
    assert score(t, low).passed is False


def test_failed_items_carry_over_to_the_next_inspection(client, seeded):
    first = create(client, seeded.inspector)
    answer_all(client, seeded.inspector, first, fail={"offline_backup", "antivirus"})
    r = client.post(
        f"/api/v1/inspections/{first['id']}/signoff", json={"signature_name": "Lân"}, headers=seeded.inspector
    )
    assert r.status_code == 200, r.text
    backup = next(a for a in r.json()["actions"] if a["item_id"] == "offline_backup")
    # The site starts working on it.
    upd = client.patch(
        f"/api/v1/actions/{backup['id']}",
        json={"status": "in_progress", "owner": "UBND phường"},
        headers=seeded.technician,
    )
    assert upd.status_code == 200 and upd.json()["owner"] == "UBND phường"
    skip = client.patch(
        f"/api/v1/actions/{backup['id']}", json={"status": "verified"}, headers=seeded.technician
    )
    assert skip.status_code == 400
    second = create(client, seeded.inspector)
    carried = {a["item_id"]: a for a in second["actions"]}
    assert carried["offline_backup"]["carried_from_id"] == backup["id"]
    assert carried["offline_backup"]["status"] == "in_progress"


def test_roles_on_inspections(client, seeded):
    assert (
        client.post("/api/v1/inspections", json={"site": "P01"}, headers=seeded.technician).status_code == 403
    )
    assert client.get("/api/v1/inspections", headers=seeded.technician).status_code == 200
    assert client.get("/api/v1/inspections", headers=seeded.viewer).status_code == 403
    scoped = user_token(client, client.app.state.engine, username="x02-insp", role="inspector", sites=["X02"])
    assert client.post("/api/v1/inspections", json={"site": "P01"}, headers=scoped).status_code == 403


def test_every_shipped_template_names_known_checks():
    from checks.catalog import load_catalog

    catalog = load_catalog()
    for template in shipped_templates().values():
        for _, item in template.items():
            if item.auto:
                unknown = [c for c in item.auto.checks if c not in catalog]
                assert not unknown, f"{template.key} item {item.id} names unknown checks {unknown}"


def test_a_scheduled_inspection_starts_when_first_answered(client, seeded):
    from datetime import date, timedelta

    later = (date.today() + timedelta(days=7)).isoformat()
    insp = create(client, seeded.inspector, scheduled_for=later)
    assert insp["status"] == "scheduled" and insp["scheduled_for"] == later
    assert insp["team"] == "Đoàn kiểm tra số 1"
    r = client.post(
        f"/api/v1/inspections/{insp['id']}/sync",
        json={"ops": [op("logging", "pass")]},
        headers=seeded.inspector,
    )
    assert r.json()["status"] == "in_progress"


def test_the_lead_must_be_an_active_inspector_who_may_see_the_site(client, seeded):
    engine = client.app.state.engine
    user_token(client, engine, username="hung.tran", role="inspector")
    user_token(client, engine, username="x02-only", role="inspector", sites=["X02"])
    for lead, code, why in (
        ("no-such-user", 404, "no active user"),
        ("tech1", 400, "must be an inspector or an administrator"),
        ("x02-only", 400, "may not see site P01"),
    ):
        r = client.post("/api/v1/inspections", json={"site": "P01", "lead": lead}, headers=seeded.inspector)
        assert r.status_code == code and why in r.json()["detail"], (lead, r.text)
    insp = create(client, seeded.inspector, lead="hung.tran")
    assert insp["lead"] == "hung.tran"


def test_actions_are_due_by_severity(client, seeded):
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    insp = create(client, seeded.inspector)
    answer_all(client, seeded.inspector, insp, fail={"offline_backup", "antivirus", "usb_scanning"})
    r = client.post(
        f"/api/v1/inspections/{insp['id']}/signoff", json={"signature_name": "Lân"}, headers=seeded.inspector
    )
    assert r.status_code == 200, r.text
    signed = datetime.fromisoformat(r.json()["signed_at"])
    # Due dates count from the day of signing in Vietnam (a sign-off at 23:30 UTC is the next day there).
    signed = (
        signed.replace(tzinfo=signed.tzinfo or ZoneInfo("UTC"))
        .astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
        .date()
    )
    due = {a["item_id"]: a["due_date"] for a in r.json()["actions"]}
    days = client.app.state.settings.due_days
    assert due["offline_backup"] == (signed + timedelta(days=days["high"])).isoformat()  # high
    assert due["firewall"] == (signed + timedelta(days=days["medium"])).isoformat()  # medium
    assert due["usb_scanning"] == (signed + timedelta(days=days["low"])).isoformat()  # low


def test_photos_too_large_are_refused_and_kept_outside_the_web_root(client, seeded):
    from collector.services.photos import MAX_PHOTO_BYTES

    insp = create(client, seeded.inspector)
    url = f"/api/v1/inspections/{insp['id']}/photos"
    huge = PNG + b"\0" * (MAX_PHOTO_BYTES + 1 - len(PNG))
    r = client.post(
        url,
        data={"item_id": "server_room_photo"},
        files={"file": ("big.png", io.BytesIO(huge), "image/png")},
        headers=seeded.inspector,
    )
    assert r.status_code == 400 and "larger than 10 MB" in r.json()["detail"]
    ok = client.post(
        url,
        data={"item_id": "server_room_photo"},
        files={"file": ("cabinet.png", io.BytesIO(PNG), "image/png")},
        headers=seeded.inspector,
    )
    assert ok.status_code == 201
    stored = list((client.app.state.settings.data_dir / "photos" / str(insp["id"])).iterdir())
    assert [p.read_bytes() for p in stored] == [PNG]
    assert client.get(f"/static/{stored[0].name}").status_code == 404


def test_a_broken_checklist_template_names_what_is_wrong():
    import pytest

    from collector.services.checklists import ChecklistError, parse_template

    base = (
        "key: t\nversion: 1\ntitle: {vi: T, en: T}\nsections:\n  - id: s\n    title: {vi: S, en: S}\n"
        "    items:\n"
    )
    with pytest.raises(ChecklistError, match="not valid YAML"):
        parse_template("key: [", source="t.yaml")
    with pytest.raises(ChecklistError, match="item b: a choice item needs choices"):
        parse_template(base + "      - {id: b, label: {vi: B, en: B}, type: choice}\n")
    with pytest.raises(ChecklistError, match="only pass_fail items can be answered automatically"):
        parse_template(base + "      - {id: n, label: {vi: N, en: N}, type: number, auto: {checks: [x]}}\n")
    with pytest.raises(ChecklistError, match="duplicate item ids: a"):
        item = "      - {id: a, label: {vi: A, en: A}, type: pass_fail}\n"
        parse_template(base + item + item)
