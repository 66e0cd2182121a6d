"""The collector's Ed25519 publishing key and detached signatures.

The private key lives in ``<data_dir>/keys/publishing-ed25519.pem`` (mode 0600), made on first use.
Anyone verifies a published file with the public key served at ``/.well-known/wardwatch-publishing-key.pem``
and ``wardwatch verify``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

KEY_FILE = "publishing-ed25519.pem"
WELL_KNOWN_PATH = "/.well-known/wardwatch-publishing-key.pem"


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def key_id(self) -> str:
        raw = self.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return hashlib.sha256(raw).hexdigest()[:16]

    def public_pem(self) -> bytes:
        return self.public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, data: bytes) -> bytes:
        return self.private.sign(data)


def load_or_create(data_dir: Path) -> SigningKey:
    path = data_dir / "keys" / KEY_FILE
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 private key")
        return SigningKey(key)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)  # two workers racing both end with one valid key file
    return load_or_create(data_dir)


def encode_signature(signature: bytes) -> bytes:
    return base64.b64encode(signature) + b"\n"


class VerifyError(ValueError):
    pass


def decode_signature(text: bytes) -> bytes:
    """A signature file holds base64 text (what we serve) or the raw 64 bytes."""
    if len(text) == 64:
        return text
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise VerifyError("the signature file is neither base64 text nor a raw 64-byte signature") from None
    if len(raw) != 64:
        raise VerifyError(f"an Ed25519 signature has 64 bytes, this one has {len(raw)}")
    return raw


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError as exc:
        raise VerifyError(f"the public key is not a PEM public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise VerifyError("the public key is not an Ed25519 key")
    return key


def verify(data: bytes, signature: bytes, public_key: Ed25519PublicKey) -> None:
    try:
        public_key.verify(signature, data)
    except InvalidSignature:
        raise VerifyError("signature does not match: the file was changed or signed by another key") from None
