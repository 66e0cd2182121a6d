"""Private by default, redacted when public: what anyone can read of a publication holds items, scores,
counts and actions only, never a hostname, address, serial number, user name or evidence detail."""

from __future__ import annotations

import io

from pypdf import PdfReader

from inventory.report import CheckResult, CheckStatus
from tests.collector.inspections.support import answer_all, create, op
from tests.helpers import enroll, host_report, post_report, seed_site

HOSTNAME = "ke-toan-pc07.p01.local"
SERIAL = "SN-5CG2231XYZ"
IP = "198.18.7.42"
MAC = "3c:52:82:aa:bb:cc"
SECRETS = (HOSTNAME, SERIAL, IP, MAC, "lan.nguyen", "Đoàn kiểm tra số 1", "Trần Văn Phụ Trách")


def _seed_sensitive(client, app):  # type: ignore[no-untyped-def]
    """A PC whose hostname fails the firewall check (so it is in the evidence), and free text that
    names an address, a MAC and a serial number."""
    agent = enroll(client, seed_site(app.state.engine, "P01"), HOSTNAME)
    bad = CheckResult(
        check_id="host.firewall.enabled", status=CheckStatus.FAIL, evidence=f"ufw inactive on {IP}"
    )
    report = host_report(
        agent.agent_id, hostname=HOSTNAME, machine_id="m7", serial=SERIAL, mac=MAC, results=[bad]
    )
    assert post_report(client, agent, report).status_code == 202


def _publish(client, seeded, *, public):  # type: ignore[no-untyped-def]
    insp = create(client, seeded.inspector)
    answer_all(client, seeded.inspector, insp, fail={"offline_backup", "antivirus"})
    current = client.get(f"/api/v1/inspections/{insp['id']}", headers=seeded.inspector).json()["answers"]
    notes = [
        op(
            "offline_backup",
            "fail",
            f"máy chủ {IP} ({MAC}) chưa sao lưu",
            current["offline_backup"]["revision"],
        ),
        op("remarks", f"Ổ cứng {SERIAL} của {HOSTNAME} cần thay"),
    ]
    r = client.post(f"/api/v1/inspections/{insp['id']}/sync", json={"ops": notes}, headers=seeded.inspector)
    assert all(x["outcome"] == "applied" for x in r.json()["results"]), r.json()
    r = client.post(
        f"/api/v1/inspections/{insp['id']}/signoff",
        json={"signature_name": "Nguyễn Thị Lan"},
        headers=seeded.inspector,
    )
    assert r.status_code == 200, r.text
    for action in client.get("/api/v1/actions", headers=seeded.inspector).json():
        client.patch(
            f"/api/v1/actions/{action['id']}", json={"owner": "Trần Văn Phụ Trách"}, headers=seeded.inspector
        )
    body = {"public": public}
    if public:
        pre = client.get(
            f"/api/v1/inspections/{insp['id']}/publication-preview", headers=seeded.inspector
        ).json()
        body["previewed"] = pre["digest"]
    r = client.post(f"/api/v1/inspections/{insp['id']}/publish", json=body, headers=seeded.inspector)
    assert r.status_code == 201, r.text
    return insp, r.json()


def _pdf_text(data: bytes) -> str:
    return " ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)


def test_public_rendering_holds_none_of_the_seeded_identifiers(client, seeded, app):
    _seed_sensitive(client, app)
    _insp, pub = _publish(client, seeded, public=True)
    slug = pub["slug"]
    # What anyone reads: the page, the JSON, the PDF and the feeds.
    anonymous = {
        "page": client.get(f"/published/{slug}").text,
        "json": client.get(f"/published/{slug}.json").text,
        "pdf": _pdf_text(client.get(f"/published/{slug}.pdf").content),
        "atom": client.get("/published/feed.atom").text,
        "feed": client.get("/published/feed.json").text,
        "index": client.get("/published").text,
    }
    for where, text in anonymous.items():
        leaked = [s for s in SECRETS if s in text]
        assert not leaked, f"the public {where} shows {leaked}"
    public_doc = client.get(f"/published/{slug}.json").json()
    assert public_doc["public"] is True and public_doc["findings"] and public_doc["actions"]
    assert {"offline_backup", "firewall"} <= {f["item"] for f in public_doc["findings"]}
    firewall = next(f for f in public_doc["findings"] if f["item"] == "firewall")
    assert firewall["failing_devices"] == 2  # a count, not the names
    assert "Bản công khai" in anonymous["pdf"] and "BIÊN BẢN KIỂM TRA" in anonymous["pdf"]
    # Those who may see the site read the full record: the same identifiers are there (the test can fail).
    full = client.get(f"/published/{slug}.json", headers=seeded.inspector).text
    full_pdf = _pdf_text(client.get(f"/published/{slug}.pdf", headers=seeded.inspector).content)
    assert HOSTNAME in full and IP in full and SERIAL in full
    assert HOSTNAME in "".join(full_pdf.split()) and IP in full_pdf


def test_publications_are_private_unless_the_lead_chooses_public(client, seeded):
    insp, pub = _publish(client, seeded, public=False)
    assert pub["public"] is False
    assert client.get(pub["url"]).status_code == 404 and client.get(pub["pdf"]).status_code == 404
    assert pub["slug"] not in client.get("/published/feed.json").text
    assert pub["slug"] not in client.get("/published").text


def test_a_public_publication_must_be_the_previewed_one(client, seeded):
    insp = create(client, seeded.inspector)
    answer_all(client, seeded.inspector, insp, fail={"offline_backup", "antivirus"})
    client.post(
        f"/api/v1/inspections/{insp['id']}/signoff",
        json={"signature_name": "Nguyễn Thị Lan"},
        headers=seeded.inspector,
    )
    # The publish form on the page has the public box unticked and leads to the preview.
    page = client.get(f"/inspections/{insp['id']}", headers=seeded.inspector).text
    assert 'name="public" value="on">' in page and 'name="public" value="on" checked' not in page
    assert f'method="get" action="/inspections/{insp["id"]}/publish"' in page
    url = f"/api/v1/inspections/{insp['id']}/publish"
    unseen = client.post(url, json={"public": True}, headers=seeded.inspector)
    assert unseen.status_code == 409 and "preview" in unseen.json()["detail"]
    stale = client.post(url, json={"public": True, "previewed": "0" * 64}, headers=seeded.inspector)
    assert stale.status_code == 409
    pre = client.get(f"/api/v1/inspections/{insp['id']}/publication-preview", headers=seeded.inspector).json()
    assert pre["public_document"]["public"] is True and "evidence" not in str(
        pre["public_document"]["findings"]
    )
    ok = client.post(url, json={"public": True, "previewed": pre["digest"]}, headers=seeded.inspector)
    assert ok.status_code == 201 and ok.json()["public"] is True
    # Another site's inspector cannot preview it.
    from tests.helpers import user_token

    other = user_token(client, client.app.state.engine, username="insp-x02", role="inspector", sites=["X02"])
    assert (
        client.get(f"/api/v1/inspections/{insp['id']}/publication-preview", headers=other).status_code == 404
    )
