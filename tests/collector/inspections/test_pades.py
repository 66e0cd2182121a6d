"""The published inspection record is an administrative document signed as PAdES with the organisation's
certificate: officials check it in their own PDF reader (pdfsig stands in for Foxit/Adobe here), and
publishing refuses a certificate that is expired, revoked or untrusted, saying why."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from collector.pdfsign import read_signatures
from tests.collector.inspections.support import publish
from tests.pki_factory import DAY, NOW, FileServer, Revoked, issue, make_crl, rsa_key
from tests.signing_pki import ORG_NAME, configure_signing, expired_signer, org_pki
from tests.tsa import TsaServer

pytestmark = pytest.mark.skipif(shutil.which("pdfsig") is None, reason="pdfsig (poppler-utils) not installed")


def _text(pdf: bytes) -> str:
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())


def _pdfsig(pdf: bytes, tmp_path: Path, nss: Path | None = None) -> str:
    path = tmp_path / "record.pdf"
    path.write_bytes(pdf)
    cmd = ["pdfsig", *(["-nssdir", f"sql:{nss}"] if nss else []), str(path)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout


def _nss_trusting(root_pem: bytes, tmp_path: Path) -> Path | None:
    """An NSS database that trusts the test root, as an official's reader trusts the national roots."""
    if shutil.which("certutil") is None:
        return None
    db = tmp_path / "nss"
    db.mkdir()
    subprocess.run(["certutil", "-N", "-d", f"sql:{db}", "--empty-password"], check=True, capture_output=True)
    (tmp_path / "root.pem").write_bytes(root_pem)
    subprocess.run(
        [
            "certutil",
            "-A",
            "-d",
            f"sql:{db}",
            "-n",
            "test-root",
            "-t",
            "C,C,C",
            "-i",
            str(tmp_path / "root.pem"),
        ],
        check=True,
        capture_output=True,
    )
    return db


def test_pdfsig_finds_a_valid_signature_of_the_organisation(client, seeded, tmp_path):
    pub = publish(client, seeded, public=False)
    assert pub["pades_level"] == "B-B" and pub["pdf_signer"] == ORG_NAME
    pdf = client.get(pub["pdf"], headers=seeded.inspector).content
    out = _pdfsig(pdf, tmp_path, _nss_trusting(org_pki().root.pem, tmp_path))
    assert "Signature is Valid." in out, out
    assert f"Signer Certificate Common Name: {ORG_NAME}" in out
    assert "ETSI.CAdES.detached" in out and "Total document signed" in out
    if shutil.which("certutil"):
        assert "Certificate is Trusted." in out, out
    # pyHanko's validator accepts it against the test PKI.
    [sig] = read_signatures(pdf, trust_roots=[org_pki().root.cert])
    assert sig.intact and sig.trusted and sig.covers_whole_file and sig.signer == ORG_NAME
    # One changed byte inside the signed range breaks it, for pdfsig too.
    tampered = pdf.replace(b"/Producer", b"/Producex", 1)
    assert tampered != pdf
    assert "Signature is Valid." not in _pdfsig(tampered, tmp_path)


def test_record_is_a_decree_30_document_with_names_not_logins(client, seeded):
    pub = publish(client, seeded, public=False)
    text = _text(client.get(pub["pdf"], headers=seeded.inspector).content)
    for phrase in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "ỦY BAN NHÂN DÂN THÀNH PHỐ",
        "SỞ KHOA HỌC VÀ CÔNG NGHỆ",
        "BIÊN BẢN KIỂM TRA",
        "Kiểm tra an toàn thông tin tại Phường Bến Nghé",
        "I. Thành phần đoàn kiểm tra",
        "II. Kết quả kiểm tra",
        "TRƯỞNG ĐOÀN KIỂM TRA",
        "PHÓ TRƯỞNG PHÒNG CÔNG NGHỆ THÔNG TIN",
        "Nguyễn Thị Lan",
        "Nơi nhận:",
    ):
        assert phrase in text, phrase
    # The signature's visible appearance sits in the signature block, above the signer's name.
    reader = PdfReader(io.BytesIO(client.get(pub["pdf"], headers=seeded.inspector).content))
    [page] = [
        p for p in reader.pages if any(a.get_object().get("/FT") == "/Sig" for a in p.get("/Annots") or [])
    ]
    assert "Nguyễn Thị Lan" in page.extract_text()
    assert re.search(r"Số: \d+/BB-SKHCN", text)
    assert re.search(r"ngày \d{2} tháng \d{1,2} năm \d{4}", text)
    # Readable values, never login names or stored codes.
    assert "lan.nguyen" not in text and "external_disk" not in text and "pass_fail" not in text
    assert "Ổ cứng rời" in text or "Chưa trả lời" in text
    # Numbers follow the register: the next record of the year gets the next number.
    second = publish(client, seeded, public=False)
    n1 = int(re.search(r"Số: (\d+)/BB", text).group(1))  # type: ignore[union-attr]
    text2 = _text(client.get(second["pdf"], headers=seeded.inspector).content)
    assert f"Số: {n1 + 1}/BB-SKHCN" in text2


def test_publishing_refuses_an_expired_or_untrusted_certificate(client, seeded, app, settings, tmp_path):
    pki = org_pki()
    configure_signing(app.state.engine, settings.data_dir, leaf=expired_signer(pki))
    refused = _publish_refused(client, seeded)
    assert refused.status_code == 409 and "expired" in refused.json()["detail"]
    # A certificate from a root nobody added is untrusted.
    stranger_root = issue("Unknown Root CA", ca=True, key=rsa_key(2048, 21))
    stranger = issue(ORG_NAME, issuer=stranger_root, key=rsa_key(2048, 22))
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    from collector.db import session_scope
    from collector.services.signing_cert import set_p12

    p12 = pkcs12.serialize_key_and_certificates(
        b"x",
        stranger.key,
        stranger.cert,
        None,
        serialization.BestAvailableEncryption(b"pw"),  # type: ignore[arg-type]
    )
    with session_scope(app.state.engine) as session:
        set_p12(session, data=p12, password="pw", data_dir=settings.data_dir, actor="test")
    refused = _publish_refused(client, seeded)
    assert refused.status_code == 409 and "untrusted" in refused.json()["detail"]
    assert "Unknown Root CA" in refused.json()["detail"]


def _publish_refused(client, seeded):  # type: ignore[no-untyped-def]
    from tests.collector.inspections.support import answer_all, create

    insp = create(client, seeded.inspector)
    answer_all(client, seeded.inspector, insp, fail={"offline_backup", "antivirus"})
    signed = client.post(
        f"/api/v1/inspections/{insp['id']}/signoff",
        json={"signature_name": "Nguyễn Thị Lan"},
        headers=seeded.inspector,
    )
    assert signed.status_code == 200
    return client.post(f"/api/v1/inspections/{insp['id']}/publish", json={}, headers=seeded.inspector)


@pytest.fixture
def revocable(tmp_path):  # type: ignore[no-untyped-def]
    """A CA that publishes its CRL over HTTP on 127.0.0.1, a signer under it, and a timestamp server."""
    server = FileServer()
    root = issue("Revocable Test Root", ca=True, key=rsa_key(2048, 31))
    signer = issue(ORG_NAME, issuer=root, key=rsa_key(2048, 32), crl_url=server.url("/root.crl"))
    server.files["/root.crl"] = make_crl(root, [])
    tsa = TsaServer(root)
    root_pem = tmp_path / "revocable-root.pem"
    root_pem.write_bytes(root.pem)
    yield server, root, signer, tsa, root_pem
    tsa.close()
    server.close()


def _use(app, settings, signer, root_pem, tsa_url=None):  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    from collector.db import session_scope
    from collector.services.signing_cert import set_p12

    p12 = pkcs12.serialize_key_and_certificates(
        b"x", signer.key, signer.cert, None, serialization.BestAvailableEncryption(b"pw")
    )
    with session_scope(app.state.engine) as session:
        set_p12(
            session,
            data=p12,
            password="pw",
            data_dir=settings.data_dir,
            actor="t",
            trust=[root_pem],
            tsa_url=tsa_url,
        )


def test_timestamp_server_makes_b_t_and_reachable_revocation_b_lt(
    client, seeded, app, settings, revocable, tmp_path
):
    server, root, signer, tsa, root_pem = revocable
    _use(app, settings, signer, root_pem, tsa.url)
    pub = publish(client, seeded, public=False)
    assert pub["pades_level"] == "B-LT" and tsa.requests >= 1
    pdf = client.get(pub["pdf"], headers=seeded.inspector).content
    [sig] = read_signatures(pdf, trust_roots=[root.cert])
    assert sig.intact and sig.trusted and sig.timestamp is not None and sig.timestamp_valid
    assert sig.level == "B-LT"  # the CRL is in the document security store
    out = _pdfsig(pdf, tmp_path)
    assert "Signature is Valid." in out and ORG_NAME in out
    # The timestamp server down: publishing says so instead of issuing an untimestamped record.
    tsa.close()
    refused = _publish_refused(client, seeded)
    assert refused.status_code == 409 and "timestamp" in refused.json()["detail"]


def test_revoked_signer_is_refused_by_publishing_and_by_pyhanko(client, seeded, app, settings, revocable):
    server, root, signer, tsa, root_pem = revocable
    _use(app, settings, signer, root_pem)
    pub = publish(client, seeded, public=False)
    assert pub["pades_level"] == "B-B"
    pdf = client.get(pub["pdf"], headers=seeded.inspector).content
    [good] = read_signatures(pdf, trust_roots=[root.cert], allow_fetching=True)
    assert good.trusted and not good.revoked
    server.files["/root.crl"] = make_crl(root, [Revoked(signer.cert.serial_number, NOW - DAY)])
    [bad] = read_signatures(pdf, trust_roots=[root.cert], allow_fetching=True)
    assert bad.revoked and not bad.trusted
    refused = _publish_refused(client, seeded)
    assert refused.status_code == 409 and "revoked" in refused.json()["detail"]


def test_signing_page_shows_the_certificate_to_unscoped_admins_only(client, seeded, app):
    from tests.helpers import user_token

    page = client.get("/admin/signing-certificate", headers=seeded.admin)
    assert page.status_code == 200 and ORG_NAME in page.text and "Chứng thư số ký văn bản" in page.text
    assert client.get("/admin/signing-certificate", headers=seeded.inspector).status_code == 403
    scoped = user_token(client, app.state.engine, username="admin-p01", role="admin", sites=["P01"])
    assert client.get("/admin/signing-certificate", headers=scoped).status_code == 404
