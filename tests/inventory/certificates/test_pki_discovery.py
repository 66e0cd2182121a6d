"""Discovery: files and folders (PEM, DER, PKCS#7, PKCS#12), NSS via certutil, Windows stores, PKCS#11."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12

from inventory.certificates import nss, windows
from inventory.certificates.facts import LocationKind
from inventory.certificates.files import discover_paths
from inventory.certificates.linux import system_trust_store
from tests.pki_factory import Pki
from tests.softhsm import PIN, SoftHsm

FIX = Path(__file__).parents[2] / "fixtures" / "pki"


def p12(pki: Pki, password: bytes | None) -> bytes:
    enc = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    leaf = pki.leaves["valid"]
    return pkcs12.serialize_key_and_certificates(b"chu-ky-so", leaf.key, leaf.cert, [pki.inter.cert], enc)  # type: ignore[arg-type]


def test_every_container_format(pki: Pki, tmp_path: Path) -> None:
    (tmp_path / "bundle.pem").write_bytes(pki.root.pem + pki.inter.pem)
    (tmp_path / "leaf.cer").write_bytes(pki.leaves["valid"].der)
    (tmp_path / "chain.p7b").write_bytes(
        pkcs7.serialize_certificates([pki.inter.cert, pki.root.cert], serialization.Encoding.DER)
    )
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "token-backup.pfx").write_bytes(p12(pki, None))
    (tmp_path / "notes.txt").write_text("not a certificate")
    r = discover_paths(folders=[tmp_path])
    assert r.errors == []
    by_file = {}
    for d in r.items:
        by_file.setdefault(Path(d.info.location.path).name, []).append(d.info)
    assert sorted(by_file) == ["bundle.pem", "chain.p7b", "leaf.cer", "token-backup.pfx"]
    assert len(by_file["bundle.pem"]) == 2 and len(by_file["chain.p7b"]) == 2
    pfx = {c.subject_cn: c for c in by_file["token-backup.pfx"]}
    assert pfx["Nguyen Van A"].has_private_key is True and pfx["Nguyen Van A"].key_on_token is False
    assert pfx["Nguyen Van A"].location.label == "chu-ky-so"
    leaf = by_file["leaf.cer"][0]
    assert leaf.key_usage == ["digitalSignature", "nonRepudiation"] and not leaf.is_ca
    assert leaf.key_type == "rsa" and leaf.key_size == 2048 and leaf.signature_hash == "sha256"
    assert leaf.issuer_cn == "WW Test Signing CA"
    assert leaf.sha256 == __import__("hashlib").sha256(pki.leaves["valid"].der).hexdigest()


def test_pkcs12_passwords(pki: Pki, tmp_path: Path) -> None:
    f = tmp_path / "an.p12"
    f.write_bytes(p12(pki, b"matkhau123"))
    locked = discover_paths(files=[f])
    assert locked.items == [] and "needs a password" in locked.errors[0]
    assert "matkhau123" not in locked.errors[0]
    opened = discover_paths(files=[f], passwords=[b"sai", b"matkhau123"])
    assert len(opened.items) == 2 and opened.errors == []


def test_missing_and_broken_places_are_reported(tmp_path: Path) -> None:
    (tmp_path / "broken.pem").write_text(
        "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"
    )
    r = discover_paths(files=[tmp_path / "missing.cer", tmp_path / "broken.pem"], folders=[tmp_path / "nope"])
    text = "\n".join(r.errors)
    assert "missing.cer: cannot read" in text and "broken.pem" in text and "nope: folder not found" in text


def test_same_certificate_in_one_place_reported_once(pki: Pki, tmp_path: Path) -> None:
    f = tmp_path / "x.pem"
    f.write_bytes(pki.root.pem)
    r = discover_paths(files=[f, f], folders=[tmp_path])
    assert len(r.items) == 1


def test_system_trust_store_reads_the_bundle() -> None:
    r = system_trust_store()
    if not r.items:
        pytest.skip(f"no system trust bundle on this machine: {r.errors}")
    assert all(d.info.location.kind is LocationKind.SYSTEM for d in r.items)
    assert sum(d.info.is_ca for d in r.items) > 10


# ---- NSS ----------------------------------------------------------------------------------------


def test_nss_listing_recorded(pki: Pki) -> None:
    listing = (FIX / "nss" / "certutil-L-h-all.txt").read_text()
    pems = {
        "RootCA chuyen dung Chinh phu G2": pki.root.pem,
        "VGCA Token:Nguyen Van An": pki.leaves["valid"].pem,
        "Tran Thi Binh - UBND phuong Cua Nam": pki.leaves["expiring_20d"].pem,
    }

    def run(args: Sequence[str]) -> str:
        if "-n" in args:
            return pems[args[args.index("-n") + 1]].decode()
        return listing

    r = nss.read_database(Path("/home/canbo/.pki/nssdb"), run=run)
    got = {d.info.location.label: d.info for d in r.items}
    assert got["VGCA Token:Nguyen Van An"].key_on_token is True
    assert got["VGCA Token:Nguyen Van An"].key_provider == "VGCA Token"
    assert got["Tran Thi Binh - UBND phuong Cua Nam"].has_private_key is True
    assert got["Tran Thi Binh - UBND phuong Cua Nam"].key_on_token is False
    assert got["RootCA chuyen dung Chinh phu G2"].has_private_key is False


@pytest.mark.skipif(
    shutil.which("certutil") is None or shutil.which("pk12util") is None,
    reason="NSS tools (libnss3-tools) not installed",
)
def test_nss_database_through_real_certutil(pki: Pki, tmp_path: Path) -> None:
    db = tmp_path / "nssdb"
    db.mkdir()
    subprocess.run(["certutil", "-N", "-d", f"sql:{db}", "--empty-password"], check=True)
    root = tmp_path / "root.pem"
    root.write_bytes(pki.root.pem)
    subprocess.run(
        ["certutil", "-A", "-n", "WW Root", "-t", "CT,C,C", "-i", str(root), "-d", f"sql:{db}"], check=True
    )
    f = tmp_path / "an.p12"
    f.write_bytes(p12(pki, b"x"))
    subprocess.run(
        ["pk12util", "-i", str(f), "-d", f"sql:{db}", "-W", "x", "-K", ""], check=True, capture_output=True
    )
    r = nss.read_database(db)
    assert r.errors == []
    got = {d.info.subject_cn: d.info for d in r.items}
    assert got["Nguyen Van A"].has_private_key is True and got["Nguyen Van A"].key_on_token is False
    assert got["WW Test Root CA"].has_private_key is False
    assert all(d.info.location.kind is LocationKind.NSS for d in r.items)


def test_nss_without_database_is_silent(tmp_path: Path) -> None:
    r = nss.read_database(tmp_path / "no-such-db")
    assert r.items == [] and r.errors == []


# ---- Windows (recorded/constructed data) ----------------------------------------------------------


def _recorded_enum():  # type: ignore[no-untyped-def]
    stores = json.loads((FIX / "windows" / "enum_certificates.json").read_text())

    def enum(store: str):  # type: ignore[no-untyped-def]
        return [
            (
                base64.b64decode(e["der_base64"]),
                e["encoding"],
                set(e["trust"]) if isinstance(e["trust"], list) else e["trust"],
            )
            for e in stores[store]
        ]

    return enum


def test_windows_my_store_with_key_providers() -> None:
    recorded = (FIX / "windows" / "key_providers.json").read_text(encoding="utf-8")
    r = windows.personal_certificates(enum=_recorded_enum(), run=lambda script: recorded)
    assert r.errors == []
    got = {d.info.subject_cn: d.info for d in r.items}
    token = got["Nguyen Van An (constructed)"]
    assert token.key_on_token is True and token.key_provider == "VGCA Token CSP v1.0"
    soft = got["Tran Thi Binh (constructed)"]
    assert soft.key_on_token is False and soft.key_provider == "Microsoft Software Key Storage Provider"
    card = got["Le Van Cuong (constructed)"]
    assert card.key_on_token is True, "a smart-card KSP is a token even when HardwareDevice is not reported"
    nokey = got["Pham Thi Dung (constructed)"]
    assert nokey.has_private_key is None and nokey.key_on_token is None
    assert all(d.info.location.kind is LocationKind.WINDOWS and d.info.location.path == "MY" for d in r.items)


def test_windows_trust_stores_skip_non_certificates() -> None:
    r = windows.system_trust_store(enum=_recorded_enum())
    names = {d.info.subject_cn for d in r.items}
    assert "RootCA chuyên dùng Chính phủ G2" in names and "Vietnam National Root CA" in names
    assert "CA phục vụ các cơ quan Nhà nước G2" in names
    assert len(r.items) == 5, "the pkcs_7_asn entry is not a certificate"
    assert all(d.info.location.kind is LocationKind.SYSTEM for d in r.items)


def test_windows_key_provider_failure_is_reported() -> None:
    def broken(script: str) -> str:
        raise RuntimeError("powershell.exe not found")

    r = windows.personal_certificates(enum=_recorded_enum(), run=broken)
    assert len(r.items) == 4 and "powershell.exe not found" in r.errors[0]


# ---- PKCS#11 (SoftHSM as the token) ---------------------------------------------------------------


@pytest.fixture
def softhsm_token(pki: Pki, softhsm: SoftHsm) -> str:
    softhsm.token("VNPT-CA Token")
    softhsm.import_key("VNPT-CA Token", pki.leaves["valid"].key_pem(), label="an", object_id="01")
    import pkcs11
    from pkcs11 import Attribute, CertificateType, ObjectClass

    # The certificate is written through python-pkcs11 in this process: the module it loads here must read
    # this test's token directory, whatever token an earlier test made (tests/softhsm.py).
    token = pkcs11.lib(softhsm.module).get_token(token_label="VNPT-CA Token")
    with token.open(rw=True, user_pin=PIN) as s:
        s.create_object(
            {
                Attribute.CLASS: ObjectClass.CERTIFICATE,
                Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                Attribute.TOKEN: True,
                Attribute.LABEL: "Nguyen Van A",
                Attribute.ID: b"\x01",
                Attribute.VALUE: pki.leaves["valid"].der,
                Attribute.SUBJECT: pki.leaves["valid"].cert.subject.public_bytes(),
            }
        )
    return softhsm.module


def test_pkcs11_token_certificates(softhsm_token: str) -> None:
    from inventory.certificates.pkcs11 import read_module

    r = read_module(Path(softhsm_token), pin="1234")
    assert r.errors == [], r.errors
    [d] = [d for d in r.items if d.info.subject_cn == "Nguyen Van A"]
    assert d.info.location.kind is LocationKind.PKCS11 and d.info.location.path == "VNPT-CA Token"
    assert d.info.key_on_token is True and d.info.has_private_key is True


def test_pkcs11_module_missing_is_reported(tmp_path: Path) -> None:
    from inventory.certificates.pkcs11 import read_module

    r = read_module(tmp_path / "vnpt-ca-p11.so")
    assert r.items == [] and ("not found" in r.errors[0] or "not installed" in r.errors[0])


def test_a_token_made_after_softhsm_was_loaded_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An earlier test in this process loaded SoftHSM with its own token directory; a later test's token
    must still be found (CI: ``NoSuchToken: No token matching {'token_label': 'VNPT-CA Token'}``)."""
    from tests.softhsm import make_softhsm

    earlier = make_softhsm(tmp_path / "earlier", monkeypatch)
    earlier.token("So KHCN")
    import pkcs11

    assert pkcs11.lib(earlier.module).get_token(token_label="So KHCN")
    later = make_softhsm(tmp_path / "later", monkeypatch)
    later.token("VNPT-CA Token")
    assert pkcs11.lib(later.module).get_token(token_label="VNPT-CA Token")
    with pytest.raises(pkcs11.NoSuchToken):
        pkcs11.lib(later.module).get_token(token_label="So KHCN")
