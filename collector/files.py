"""The collector's files are private: data directory 0700, database, keys and photos 0600/0700.

``private_umask`` makes everything the process creates from then on private (SQLite's WAL and SHM
files, photos, keys), whatever the shell's umask. ``check_data_dir`` looks at what is already there
at start: a key readable by others refuses the start (it must be replaced, not only chmodded, if
someone else could read it); anything else loosened is a warning naming the file and the fix.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

KEY_DIR = "keys"
PHOTO_DIR = "photos"
SECRET_NAMES = ("netdevices.key",)


@dataclass(frozen=True)
class Loosened:
    path: Path
    mode: int
    secret: bool

    def __str__(self) -> str:
        want = "700" if self.path.is_dir() else "600"
        what = "holds a secret key and is" if self.secret else "is"
        return (
            f"{self.path} {what} open to other users (mode {stat.S_IMODE(self.mode):03o}); "
            f"fix: chmod {want} {self.path}"
        )


def private_umask() -> None:
    os.umask(0o077)


def make_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) 0700; an existing directory is left as it is (and checked)."""
    if not path.exists():
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.chmod(0o700)  # mkdir's mode is masked by the umask
    return path


def sqlite_path(database_url: str) -> Path | None:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def _open_to_others(path: Path) -> int | None:
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(mode):
        return None
    return mode if mode & (stat.S_IRWXG | stat.S_IRWXO) else None


def check_data_dir(data_dir: Path, database_url: str | None = None) -> list[Loosened]:
    """Every file or directory of the collector's data that others may read, write or enter."""
    found: list[Loosened] = []

    def look(path: Path, secret: bool = False) -> None:
        mode = _open_to_others(path)
        if mode is not None:
            found.append(Loosened(path, mode, secret))

    if os.name != "posix" or not data_dir.exists():
        return found
    look(data_dir)
    keys = data_dir / KEY_DIR
    if keys.is_dir():
        look(keys)
        for path in sorted(keys.rglob("*")):
            # Public halves (certificates, public keys) may be world-readable; private ones may not.
            look(path, secret=path.is_file() and not path.name.endswith((".pub.pem", ".crt", "-cert.pem")))
    for name in SECRET_NAMES:
        look(data_dir / name, secret=True)
    photos = data_dir / PHOTO_DIR
    if photos.is_dir():
        look(photos)
        for path in sorted(photos.rglob("*")):
            look(path)
    db = sqlite_path(database_url) if database_url else None
    if db is not None:
        if db.parent != data_dir:
            look(db.parent)
        for suffix in ("", "-wal", "-shm", "-journal"):
            look(db.with_name(db.name + suffix))
    return found
