"""The collector's Ed25519 publishing key and detached signatures.

The private key lives in ``<data_dir>/keys/publishing-ed25519.pem`` (mode 0600), made on first use.
Anyone verifies a published file with the public key served at ``/.well-known/wardwatch-publishing-key.pem``
and ``wardwatch verify``.

Keys rotate (``wardwatch keys rotate publishing``): the retired key's public half is kept in
``keys/publishing-retired/<key_id>.pub.pem`` (its private half is destroyed), and every public key ever
used is served at ``/.well-known/wardwatch-publishing-keys.pem``, so a publication verifies forever.
A signature file names its key: a ``wardwatch-signature: ed25519 key_id=<id>`` line, then the base64.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

KEY_FILE = "publishing-ed25519.pem"
RETIRED_DIR = "publishing-retired"
WELL_KNOWN_PATH = "/.well-known/wardwatch-publishing-key.pem"
WELL_KNOWN_KEYRING_PATH = "/.well-known/wardwatch-publishing-keys.pem"
SIGNATURE_HEADER = b"wardwatch-signature: ed25519 key_id="


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def key_id(self) -> str:
        return key_id_of(self.public)

    def public_pem(self) -> bytes:
        return public_pem(self.public)

    def sign(self, data: bytes) -> bytes:
        return self.private.sign(data)


def key_id_of(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _write_private(path: Path, data: bytes, mode: int = 0o600) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)  # two workers racing both end with one valid key file


def rotate(data_dir: Path) -> tuple[str, SigningKey]:
    """Retire the current key (its public half stays published) and start signing with a new one.

    Returns the retired key id and the new key. Publications signed before keep verifying.
    """
    old = load_or_create(data_dir)
    retired = data_dir / "keys" / RETIRED_DIR
    retired.mkdir(parents=True, exist_ok=True, mode=0o700)
    # The public half first: if anything fails after this, nothing signed becomes unverifiable.
    _write_private(retired / f"{old.key_id}.pub.pem", old.public_pem(), 0o644)
    new = Ed25519PrivateKey.generate()
    _write_private(
        data_dir / "keys" / KEY_FILE,
        new.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )
    return old.key_id, load_or_create(data_dir)


def public_keys(data_dir: Path) -> dict[str, bytes]:
    """Every publishing public key, current first then retired ones, by key id (PEM)."""
    current = load_or_create(data_dir)
    keys = {current.key_id: current.public_pem()}
    retired = data_dir / "keys" / RETIRED_DIR
    if retired.is_dir():
        for path in sorted(retired.glob("*.pub.pem")):
            try:
                for kid, key in load_public_keys(path.read_bytes()).items():
                    keys.setdefault(kid, public_pem(key))
            except VerifyError:
                continue
    return keys


def keyring_pem(data_dir: Path) -> bytes:
    """All public keys in one PEM file, each after a line naming its key id (PEM readers skip it)."""
    current = load_or_create(data_dir).key_id
    parts = [
        f"# key_id {kid}{' (current)' if kid == current else ' (retired)'}\n".encode() + pem
        for kid, pem in public_keys(data_dir).items()
    ]
    return b"".join(parts)


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
    _write_private(path, pem)
    return load_or_create(data_dir)


def encode_signature(signature: bytes, key_id: str | None = None) -> bytes:
    """The signature file: a line naming the key (when known), then the base64 signature."""
    head = SIGNATURE_HEADER + key_id.encode() + b"\n" if key_id else b""
    return head + base64.b64encode(signature) + b"\n"


class VerifyError(ValueError):
    pass


def read_signature(text: bytes) -> tuple[bytes, str | None]:
    """(signature, key id or None) from a signature file, with or without the key line."""
    if len(text) != 64 and text.startswith(SIGNATURE_HEADER):
        head, _, rest = text.partition(b"\n")
        kid = head[len(SIGNATURE_HEADER) :].decode("ascii", "replace").strip()
        return decode_signature(rest), kid or None
    return decode_signature(text), None


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


def load_public_keys(pem: bytes) -> dict[str, Ed25519PublicKey]:
    """Every Ed25519 public key in a PEM file (one key, or the keyring), by key id."""
    blocks = re.findall(rb"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", pem, re.S)
    if not blocks:
        raise VerifyError("the public key file holds no PEM public key")
    keys = [load_public_key(b) for b in blocks]
    return {key_id_of(k): k for k in keys}


def verify_with(data: bytes, signature_file: bytes, keys_pem: bytes) -> str:
    """Verify against the key the signature names (or any key, for an older unnamed signature);
    returns the key id that verified."""
    signature, kid = read_signature(signature_file)
    keys = load_public_keys(keys_pem)
    if kid is not None:
        if kid not in keys:
            raise VerifyError(
                f"signed with key {kid}, which is not in the public key file; get every key the "
                f"collector used from {WELL_KNOWN_KEYRING_PATH}"
            )
        verify(data, signature, keys[kid])
        return kid
    for candidate, key in keys.items():
        try:
            verify(data, signature, key)
            return candidate
        except VerifyError:
            continue
    raise VerifyError("signature does not match: the file was changed or signed by another key")


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
