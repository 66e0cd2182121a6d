"""``wardwatch signing-cert``: the organisation's certificate from a PKCS#12 file or a PKCS#11 token
(SoftHSM), shown back, its private material encrypted at rest, and PDFs signed with it."""

from __future__ import annotations

import os
from datetime import date

import pytest
from cryptography.hazmat.primitives import serialization
from sqlmodel import Session, select

from collector.models.signing import SigningCertificate
from collector.pdfsign import read_signatures
from tests.collector.support import CommandRun, no_wardwatch_env, ww
from tests.signing_pki import ORG_NAME, P12_PASSWORD, org_pki
from tests.softhsm import SoftHsm


def _cli(*args: str, env: dict[str, str] | None = None) -> CommandRun:
    """``wardwatch signing-cert ARGS`` in this process, with no ``WARDWATCH_*`` variable but ``env``'s."""
    return ww("signing-cert", *args, env={**no_wardwatch_env(), **(env or {})})


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
def token(softhsm: SoftHsm) -> str:
    """The organisation's key and certificates on a SoftHSM token 'So KHCN'."""
    pki = org_pki()
    softhsm.token("So KHCN")
    softhsm.import_key("So KHCN", pki.signer.key_pem(), label="ky-so", object_id="01")
    softhsm.write_certificate("So KHCN", pki.signer.der, label="ky-so", object_id="01")
    softhsm.write_certificate("So KHCN", pki.ca.der, label="ca", object_id="02")
    return softhsm.module


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
