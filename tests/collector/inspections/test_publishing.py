"""Publishing: signed, immutable reports that anyone can verify; index, feeds and share links."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.collector.inspections.support import answer_all, create, publish
from tests.collector.support import CommandRun, ww


def verify(tmp_path: Path, data: bytes, sig: bytes, key: bytes) -> CommandRun:
    (tmp_path / "r.json").write_bytes(data)
    (tmp_path / "r.json.sig").write_bytes(sig)
    (tmp_path / "wardwatch-publishing-key.pem").write_bytes(key)
    return ww("verify", str(tmp_path / "r.json"))


def test_published_json_verifies_and_one_changed_byte_fails(client, seeded, tmp_path):
    pub = publish(client, seeded)
    data = client.get(pub["json"]).content
    sig = client.get(pub["signature"]).content
    key = client.get("/.well-known/wardwatch-publishing-key.pem").content
    ok = verify(tmp_path, data, sig, key)
    assert ok.returncode == 0 and ok.stdout.startswith("OK")
    tampered = bytearray(data)
    i = tampered.index(b'"overall"') + 11
    tampered[i] = ord("9") if tampered[i] != ord("9") else ord("8")
    bad = verify(tmp_path, bytes(tampered), sig, key)
    assert bad.returncode == 1 and "signature does not match" in bad.stderr
    garbage = verify(tmp_path, data, b"not a signature", key)
    assert garbage.returncode == 1 and "INVALID" in garbage.stderr


def test_published_document_has_findings_score_and_trend(client, seeded):
    first = publish(client, seeded, fail=("offline_backup", "logging"))
    second = publish(client, seeded, fail=("offline_backup",))
    raw = client.get(second["json"], headers=seeded.inspector)
    doc = raw.json()
    assert doc["site"]["name"] == "Phường Bến Nghé"
    # People are named by full name and position, never by login name.
    assert doc["inspection"]["signer"] == {
        "name": "Nguyễn Thị Lan",
        "position": "Phó Trưởng phòng Công nghệ thông tin",
        "is_lead": True,
    }
    assert "lan.nguyen" not in raw.text
    assert {f["item"] for f in doc["findings"]} >= {"offline_backup", "antivirus", "firewall"}
    assert doc["trend"]["previous_slug"] == first["slug"] and doc["trend"]["change"] > 0
    assert doc["evidence_summary"]["automatic_items"] > 0
    assert any(a["carried_over"] for a in doc["actions"])
    # Immutable: publishing again is refused.
    insp_id = doc["inspection"]["id"]
    again = client.post(f"/api/v1/inspections/{insp_id}/publish", json={}, headers=seeded.inspector)
    assert again.status_code == 409


def test_a_public_report_compares_only_with_earlier_public_reports(client, seeded):
    """Before: a public report's signed JSON carried the slug and score of the private report before it."""
    public_first = publish(client, seeded, public=True, fail=("offline_backup", "logging"))
    private = publish(client, seeded, public=False, fail=("offline_backup", "logging", "password_policy"))
    public_next = publish(client, seeded, public=True, fail=("offline_backup",))
    body = client.get(public_next["json"]).content.decode()
    trend = client.get(public_next["json"]).json()["trend"]
    assert trend["previous_slug"] == public_first["slug"]
    assert private["slug"] not in body
    # A private report, read only by the site's users, may still compare with the private one.
    later_private = publish(client, seeded, public=False)
    doc = client.get(later_private["json"], headers=seeded.inspector).json()
    assert doc["trend"]["previous_slug"] == public_next["slug"]


def test_pdf_keeps_vietnamese_diacritics_and_is_signed(client, seeded, tmp_path):
    pub = publish(client, seeded)
    pdf = client.get(pub["pdf"], headers=seeded.inspector).content  # the full record
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    for phrase in (
        "Phường Bến Nghé",
        "Tồn tại, hạn chế",
        "Điểm tuân thủ",
        "Biện pháp khắc phục, việc cần làm",
    ):
        assert phrase in text, phrase
    # The agents' evidence reads in Vietnamese with the checks' titles, as on the web page, and dates
    # are dd/mm/yyyy; the stored English sentence and raw check ids stay in the JSON only.
    flat = " ".join(text.split())
    assert "1 trên 2 thiết bị không đạt:" in flat and "pc-2: Tường lửa trên máy được bật" in flat
    assert "Mẫu nhận diện mã độc được cập nhật trong 7 ngày" in flat
    assert "host.firewall.enabled" not in flat and "devices fail" not in flat
    assert re.search(r"\d{2}/\d{2}/\d{4}", flat)
    key = client.get("/.well-known/wardwatch-publishing-key.pem").content
    sig = client.get(pub["pdf"] + ".sig", headers=seeded.inspector).content
    (tmp_path / "r.pdf").write_bytes(pdf)
    (tmp_path / "r.pdf.sig").write_bytes(sig)
    (tmp_path / "k.pem").write_bytes(key)
    done = ww("verify", str(tmp_path / "r.pdf"), "--public-key", str(tmp_path / "k.pem"))
    assert done.returncode == 0, done.stderr


def test_index_and_feeds_list_public_reports(client, seeded):
    pub = publish(client, seeded)
    private = publish(client, seeded, public=False)
    page = client.get("/published")
    assert page.status_code == 200 and pub["slug"] in page.text and private["slug"] not in page.text
    atom = client.get("/published/feed.atom")
    assert atom.headers["content-type"].startswith("application/atom+xml") and pub["slug"] in atom.text
    feed = client.get("/published/feed.json").json()
    assert [i["url"].rsplit("/", 1)[1] for i in feed["items"]] == [pub["slug"]]
    assert client.get(f"/published/{pub['slug']}").status_code == 200
    assert client.get(private["json"]).status_code == 404  # anonymous
    assert client.get(private["json"], headers=seeded.technician).status_code == 200


@pytest.mark.parametrize("suffix", ["", ".json", ".pdf"])
def test_share_links_open_private_reports_until_revoked(client, seeded, suffix):
    private = publish(client, seeded, public=False)
    r = client.post(f"/api/v1/published/{private['slug']}/share-links", headers=seeded.inspector)
    assert r.status_code == 201
    link = r.json()
    assert client.get(link["url"] + suffix).status_code == 200
    assert client.delete(f"/api/v1/share-links/{link['id']}", headers=seeded.inspector).status_code == 204
    assert client.get(link["url"] + suffix).status_code == 404
    assert (
        client.post(f"/api/v1/published/{private['slug']}/share-links", headers=seeded.viewer).status_code
        == 403
    )


def test_only_the_lead_or_an_admin_publishes(client, seeded):
    from tests.helpers import user_token

    insp = create(client, seeded.inspector)
    answer_all(client, seeded.inspector, insp, fail={"antivirus"})
    signed = client.post(
        f"/api/v1/inspections/{insp['id']}/signoff", json={"signature_name": "Lân"}, headers=seeded.inspector
    )
    assert signed.status_code == 200, signed.text
    url = f"/api/v1/inspections/{insp['id']}/publish"
    other = user_token(client, client.app.state.engine, username="other-inspector", role="inspector")
    assert client.post(url, json={}, headers=other).status_code == 403
    assert client.post(url, json={}, headers=seeded.technician).status_code == 403
    assert client.post(url, json={}, headers=seeded.admin).status_code == 201
