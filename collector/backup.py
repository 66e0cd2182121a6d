"""Backups of a collector: the database, its keys and photos, in one passphrase-encrypted file.

- SQLite: SQLite's online backup API, a consistent copy while the collector keeps writing.
- PostgreSQL: ``pg_dump --format=custom`` and ``pg_restore`` (the PostgreSQL client programs of the
  server's major version or newer must be installed; the password travels in PGPASSWORD, never on
  the command line).
- Inside: a tar archive with ``manifest.json``, the database, and the data directory's keys
  (publishing, device-password, agent CA) and photos.
- Outside: scrypt derives a 256-bit key from the passphrase; AES-256-GCM encrypts the archive in 1 MiB
  chunks, each authenticated with the header and whether it is the last, so a changed, reordered or
  cut file is refused, not half restored.
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import sqlite3
import struct
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from sqlalchemy.engine import make_url

from collector.files import KEY_DIR, PHOTO_DIR, SECRET_NAMES, sqlite_path
from collector.models.types import utcnow

MAGIC = b"WWBACKUP1\n"
CHUNK = 1024 * 1024
MIN_PASSPHRASE = 12
SCRYPT = {"n": 2**15, "r": 8, "p": 1}
DB_SQLITE = "database.sqlite"
DB_PGDUMP = "database.pgdump"


class BackupError(Exception):
    """The backup or restore cannot be done; the message says why (never the passphrase)."""


@dataclass(frozen=True)
class Manifest:
    created_at: str
    backend: str  # sqlite, postgresql
    database: str
    files: list[str]


# --- encryption ----------------------------------------------------------------------------------


def _key(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode())


def encrypt_stream(src: IO[bytes], dst: IO[bytes], passphrase: str) -> None:
    if len(passphrase) < MIN_PASSPHRASE:
        raise BackupError(f"the passphrase must have at least {MIN_PASSPHRASE} characters")
    salt, prefix = os.urandom(16), os.urandom(4)
    header = json.dumps(
        {
            "kdf": "scrypt",
            **SCRYPT,
            "salt": base64.b64encode(salt).decode(),
            "cipher": "aes-256-gcm",
            "nonce_prefix": base64.b64encode(prefix).decode(),
            "chunk": CHUNK,
        }  # fmt: skip
    ).encode()
    aead = AESGCM(_key(passphrase, salt, **SCRYPT))
    dst.write(MAGIC + header + b"\n")
    counter = 0
    chunk = src.read(CHUNK)
    while True:
        following = src.read(CHUNK)
        last = not following
        sealed = aead.encrypt(
            prefix + struct.pack(">Q", counter), chunk, header + (b"\x01" if last else b"\x00")
        )
        dst.write(struct.pack(">I", len(sealed)) + sealed)
        if last:
            return
        chunk, counter = following, counter + 1


def decrypt_stream(src: IO[bytes], dst: IO[bytes], passphrase: str) -> None:
    if src.read(len(MAGIC)) != MAGIC:
        raise BackupError("this is not a wardwatch backup file")
    header = src.readline().rstrip(b"\n")
    try:
        meta = json.loads(header)
        salt = base64.b64decode(meta["salt"])
        prefix = base64.b64decode(meta["nonce_prefix"])
        aead = AESGCM(_key(passphrase, salt, int(meta["n"]), int(meta["r"]), int(meta["p"])))
    except (ValueError, KeyError, TypeError):
        raise BackupError("the backup's header is damaged") from None
    counter = 0
    while True:
        size = src.read(4)
        if len(size) < 4:
            raise BackupError("the backup file is cut short (its last part is missing)")
        sealed = src.read(struct.unpack(">I", size)[0])
        nonce = prefix + struct.pack(">Q", counter)
        for last in (False, True):
            try:
                plain = aead.decrypt(nonce, sealed, header + (b"\x01" if last else b"\x00"))
                break
            except InvalidTag:
                continue
        else:
            if counter == 0:
                raise BackupError("wrong passphrase, or the backup file was changed")
            raise BackupError(f"the backup file was changed or damaged (part {counter + 1})")
        dst.write(plain)
        if last:
            if src.read(1):
                raise BackupError("the backup file has data after its last part")
            return
        counter += 1


# --- database -----------------------------------------------------------------------------------


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URL without the password, and the environment that carries it."""
    parsed = make_url(url)
    env = {**os.environ}
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(cmd: list[str], env: dict[str, str], what: str) -> None:
    if shutil.which(cmd[0]) is None:
        raise BackupError(f"{cmd[0]} is not installed: install the PostgreSQL client (postgresql-client)")
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip().splitlines()
        raise BackupError(f"{what} failed: {reason[-1] if reason else f'exit status {done.returncode}'}")


def _dump_database(url: str, folder: Path) -> tuple[str, Path]:
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        path = sqlite_path(url)
        if path is None or not path.exists():
            raise BackupError(f"no SQLite database at {path}")
        out = folder / DB_SQLITE
        src = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        dst = sqlite3.connect(out)
        try:
            src.backup(dst)  # consistent while the collector keeps writing (WAL)
        finally:
            dst.close()
            src.close()
        return "sqlite", out
    if backend == "postgresql":
        out = folder / DB_PGDUMP
        target, env = _libpq(url)
        _run(
            ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file", str(out), target],
            env,
            "pg_dump",
        )
        return "postgresql", out
    raise BackupError(f"backing up a {backend} database is not supported")


def _restore_database(url: str, backend: str, dump: Path, *, force: bool) -> None:
    target_backend = make_url(url).get_backend_name()
    if target_backend != backend:
        raise BackupError(f"this backup holds a {backend} database; restore it into a {backend} URL")
    if backend == "sqlite":
        path = sqlite_path(url)
        assert path is not None
        if path.exists() and path.stat().st_size > 0 and not force:
            raise BackupError(f"{path} exists; stop the collector and add --force to replace it")
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.restore")
        shutil.copyfile(dump, tmp)
        os.chmod(tmp, 0o600)
        for suffix in ("-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
        os.replace(tmp, path)
        return
    target, env = _libpq(url)
    if not force and _pg_has_tables(url):
        raise BackupError(
            "the target database is not empty; stop the collector and add --force to replace it"
        )
    _run(
        [
            "pg_restore",
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            "--dbname",
            target,
            str(dump),
        ],  # fmt: skip
        env,
        "pg_restore",
    )


def _pg_has_tables(url: str) -> bool:
    from sqlalchemy import inspect

    from collector.db import make_engine

    engine = make_engine(url)
    try:
        return bool(inspect(engine).get_table_names())
    finally:
        engine.dispose()


# --- the data directory ------------------------------------------------------------------------


def _data_files(data_dir: Path) -> Iterator[Path]:
    for folder in (data_dir / KEY_DIR, data_dir / PHOTO_DIR):
        if folder.is_dir():
            yield from (p for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.startswith("."))
    for name in SECRET_NAMES:
        if (data_dir / name).is_file():
            yield data_dir / name


@contextmanager
def _private_tmp() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="wardwatch-backup-") as tmp:
        os.chmod(tmp, 0o700)
        yield Path(tmp)


def backup(*, database_url: str, data_dir: Path, output: Path, passphrase: str) -> Manifest:
    """Write an encrypted backup of the database and the data directory's keys and photos."""
    if len(passphrase) < MIN_PASSPHRASE:
        raise BackupError(f"the passphrase must have at least {MIN_PASSPHRASE} characters")
    with _private_tmp() as tmp:
        backend, dump = _dump_database(database_url, tmp)
        files = [str(p.relative_to(data_dir)) for p in _data_files(data_dir)]
        manifest = Manifest(utcnow().isoformat(), backend, dump.name, files)
        archive = tmp / "backup.tar"
        with tarfile.open(archive, "w") as tar:
            data = json.dumps(manifest.__dict__, indent=2).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
            tar.add(dump, arcname=dump.name)
            for rel in files:
                tar.add(data_dir / rel, arcname=f"data/{rel}")
        output.parent.mkdir(parents=True, exist_ok=True)
        part = output.with_name(f".{output.name}.part")
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as dst, open(archive, "rb") as src:
            encrypt_stream(src, dst, passphrase)
            dst.flush()
            os.fsync(dst.fileno())
        os.replace(part, output)
    return manifest


def restore(
    *, backup_file: Path, database_url: str, data_dir: Path, passphrase: str, force: bool
) -> Manifest:
    """Put a backup's database, keys and photos back. The collector must be stopped."""
    with _private_tmp() as tmp:
        archive = tmp / "backup.tar"
        try:
            with open(backup_file, "rb") as src, open(archive, "wb") as dst:
                decrypt_stream(src, dst, passphrase)
        except FileNotFoundError:
            raise BackupError(f"no backup file {backup_file}") from None
        with tarfile.open(archive, "r") as tar:
            try:
                raw: Any = json.load(tar.extractfile("manifest.json"))
                manifest = Manifest(**raw)
            except (KeyError, TypeError, ValueError):
                raise BackupError("the backup has no readable manifest") from None
            # Only the names the manifest lists, as plain files: nothing outside the target directory.
            tar.extractall(tmp / "x", members=_members(tar, manifest), filter="data")
        _restore_database(database_url, manifest.backend, tmp / "x" / manifest.database, force=force)
        for rel in manifest.files:
            src_path = tmp / "x" / "data" / rel
            target = data_dir / rel
            for parent in reversed(target.relative_to(data_dir).parents):
                (data_dir / parent).mkdir(exist_ok=True, mode=0o700)
            if target.exists() and not force and target.read_bytes() != src_path.read_bytes():
                raise BackupError(f"{target} exists and differs from the backup's; add --force to replace it")
            shutil.copyfile(src_path, target)
            os.chmod(target, 0o644 if rel.endswith((".pub.pem", "-cert.pem")) else 0o600)
    return manifest


def _members(tar: tarfile.TarFile, manifest: Manifest) -> list[tarfile.TarInfo]:
    wanted = {manifest.database, *(f"data/{f}" for f in manifest.files)}
    members = [m for m in tar.getmembers() if m.name in wanted and m.isfile()]
    if {m.name for m in members} != wanted:
        raise BackupError("the backup lacks files its manifest lists")
    if any(Path(f).is_absolute() or ".." in Path(f).parts for f in manifest.files):
        raise BackupError("the backup's manifest names a file outside the data directory")
    return members
