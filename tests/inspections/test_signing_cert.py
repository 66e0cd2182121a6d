"""``wardwatch signing-cert``: the organisation's certificate from a PKCS#12 file or a PKCS#11 token
(SoftHSM), shown back, its private material encrypted at rest, and PDFs signed with it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from sqlmodel import Session, select

from collector.models.signing import SigningCertificate
from collector.pdfsign import read_signatures
from tests.signing_pki import ORG_NAME, P12_PASSWORD, org_pki

SOFTHSM = next(
    (
        p
        for p in ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so")
        if os.path.exists(p)
    ),
    None,
)


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("WARDWATCH_")}
    full.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "collector.cli", "signing-cert", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=full,
        stdin=subprocess.DEVNULL,
    )


def _sign_draft(settings) -> bytes:  # type: ignore[no-untyped-def]
    from collector.db import make_engine
    from collector.pdf.layout import AdminDocument, Issuer, render
    from collector.services.signing_cert import pdf_signing

    draft = render(AdminDocument(Issuer("UBND", "SỞ", "S", "Huế"), "BÁO CÁO", "BC", "Thử", date.today())).pdf
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session, pdf_signing(session, data_dir=settings.data_dir) as signing:
            return signing.sign(draft, reason="test", location="Huế", stamp="%(signer)s").data
    finally:
        engine.dispose()


def test_p12_is_set_shown_encrypted_at_rest_and_signs(app, settings, tmp_path):
    pki = org_pki()
    p12 = tmp_path / "org.p12"
    p12.write_bytes(pki.p12())
    root = pki.root_pem(tmp_path)
    where = ["--database-url", settings.database_url, "--data-dir", str(settings.data_dir)]
    wrong = _cli("set", "--p12", str(p12), *where, env={"WARDWATCH_P12_PASSWORD": "sai mật khẩu"})
    assert wrong.returncode == 2 and "wrong password" in wrong.stderr
    missing = _cli("set", "--p12", str(tmp_path / "none.p12"), *where, env={"WARDWATCH_P12_PASSWORD": "x"})
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    done = _cli(
        "set", "--p12", str(p12), "--trust", str(root), *where, env={"WARDWATCH_P12_PASSWORD": P12_PASSWORD}
    )
    assert done.returncode == 0, done.stderr
    assert ORG_NAME in done.stdout and "status: valid" in done.stdout
    shown = _cli("show", *where)
    assert shown.returncode == 0 and f"name: {ORG_NAME}" in shown.stdout
    assert "operator's roots: Wardwatch Test Root CA" in shown.stdout and "status: valid" in shown.stdout
    # The private key is stored encrypted: its DER is nowhere in the database row.
    der = pki.signer.key.private_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with Session(app.state.engine) as session:
        row = session.exec(select(SigningCertificate)).one()
        assert row.kind == "p12" and row.key_enc and der not in row.key_enc and der[-40:] not in row.key_enc
    [sig] = read_signatures(_sign_draft(settings), trust_roots=[pki.root.cert])
    assert sig.signer == ORG_NAME and sig.intact and sig.trusted


@pytest.fixture
def token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    pytest.importorskip("pkcs11", reason="python-pkcs11 (the pkcs11 extra) not installed")
    if SOFTHSM is None or shutil.which("softhsm2-util") is None or shutil.which("pkcs11-tool") is None:
        pytest.skip("SoftHSM2 or pkcs11-tool not installed (apt-get install softhsm2 opensc)")
    tokens = tmp_path / "tokens"
    tokens.mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\n")
    monkeypatch.setenv("SOFTHSM2_CONF", str(conf))
    init = [
        "softhsm2-util",
        "--init-token",
        "--free",
        "--label",
        "So KHCN",
        "--pin",
        "1234",
        "--so-pin",
        "5678",
    ]
    subprocess.run(init, check=True, capture_output=True)
    pki = org_pki()
    key = tmp_path / "key.pem"
    key.write_bytes(pki.signer.key_pem())
    subprocess.run(
        [
            "softhsm2-util",
            "--import",
            str(key),
            "--token",
            "So KHCN",
            "--label",
            "ky-so",
            "--id",
            "01",
            "--pin",
            "1234",
        ],
        check=True,
        capture_output=True,
    )
    key.unlink()
    # Certificates are written by pkcs11-tool in its own process: python-pkcs11 keeps the first module
    # (and its SOFTHSM2_CONF) it loaded for the life of this process.
    for label, object_id, cert in (("ky-so", "01", pki.signer), ("ca", "02", pki.ca)):
        der = tmp_path / f"{label}.der"
        der.write_bytes(cert.der)
        subprocess.run(
            ["pkcs11-tool", "--module", SOFTHSM, "--token-label", "So KHCN", "--login", "--pin", "1234",
             "--write-object", str(der), "--type", "cert", "--label", label, "--id", object_id],
            check=True,
            capture_output=True,
        )  # fmt: skip
    return SOFTHSM


def test_pkcs11_token_signs_published_pdfs(app, settings, token, tmp_path):
    pki = org_pki()
    root = pki.root_pem(tmp_path)
    where = ["--database-url", settings.database_url, "--data-dir", str(settings.data_dir)]
    env = {"WARDWATCH_PKCS11_PIN": "1234", "SOFTHSM2_CONF": os.environ["SOFTHSM2_CONF"]}
    wrong = _cli(
        "set",
        "--pkcs11-module",
        token,
        "--token-label",
        "So KHCN",
        "--key-label",
        "khong-co",
        *where,
        env=env,
    )
    assert wrong.returncode == 2 and "khong-co" in wrong.stderr
    done = _cli(
        "set",
        "--pkcs11-module",
        token,
        "--token-label",
        "So KHCN",
        "--key-label",
        "ky-so",
        "--trust",
        str(root),
        *where,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    shown = _cli("show", *where, env=env)
    assert "kind: pkcs11" in shown.stdout and "token: So KHCN" in shown.stdout and ORG_NAME in shown.stdout
    with Session(app.state.engine) as session:
        row = session.exec(select(SigningCertificate)).one()
        assert row.pin_enc and b"1234" not in row.pin_enc and row.key_enc is None
    [sig] = read_signatures(_sign_draft(settings), trust_roots=[pki.root.cert])
    assert sig.signer == ORG_NAME and sig.intact and sig.trusted
