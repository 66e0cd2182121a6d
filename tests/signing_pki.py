"""The organisation's signing certificate for tests: a real test PKI (root -> signing CA -> the unit's
certificate), as a PKCS#12 file, configured the way ``wardwatch signing-cert set --p12`` does."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from tests.pki_factory import DAY, NOW, Issued, issue, rsa_key

ORG_NAME = "SỞ KHOA HỌC VÀ CÔNG NGHỆ THÀNH PHỐ"
P12_PASSWORD = "mật khẩu p12"


@dataclass
class OrgPki:
    root: Issued
    ca: Issued
    signer: Issued

    def p12(self, leaf: Issued | None = None) -> bytes:
        leaf = leaf or self.signer
        return pkcs12.serialize_key_and_certificates(
            b"org",
            leaf.key,  # type: ignore[arg-type]
            leaf.cert,
            [self.ca.cert],
            serialization.BestAvailableEncryption(P12_PASSWORD.encode()),
        )

    def root_pem(self, folder: Path) -> Path:
        path = folder / "test-root.pem"
        path.write_bytes(self.root.pem)
        return path


@cache
def org_pki() -> OrgPki:
    root = issue("Wardwatch Test Root CA", ca=True, key=rsa_key(2048, 11))
    ca = issue("Wardwatch Test Signing CA", issuer=root, ca=True, key=rsa_key(2048, 12))
    signer = issue(ORG_NAME, issuer=ca, key=rsa_key(2048, 13))
    return OrgPki(root, ca, signer)


def expired_signer(pki: OrgPki) -> Issued:
    return issue(
        ORG_NAME,
        issuer=pki.ca,
        key=rsa_key(2048, 14),
        not_before=NOW - 400 * DAY,
        not_after=NOW - 10 * DAY,
    )


def configure_signing(
    engine: Any, data_dir: Path, *, pki: OrgPki | None = None, leaf: Issued | None = None, **extra: Any
) -> None:
    from collector.db import session_scope
    from collector.services.signing_cert import set_p12

    pki = pki or org_pki()
    data_dir.mkdir(parents=True, exist_ok=True)
    with session_scope(engine) as session:
        set_p12(
            session,
            data=pki.p12(leaf),
            password=P12_PASSWORD,
            data_dir=data_dir,
            actor="test",
            trust=[pki.root_pem(data_dir)],
            **extra,
        )


def name_user(engine: Any, username: str, full_name: str, title: str) -> None:
    from sqlmodel import select

    from collector.db import session_scope
    from collector.models.core import User

    with session_scope(engine) as session:
        user = session.exec(select(User).where(User.username == username)).one()
        user.full_name, user.title = full_name, title
        session.add(user)
