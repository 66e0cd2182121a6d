"""Network device services: configuration versions and diffs, and the managed device list.

Keyword-only functions, no HTTP. The managed list's passwords are encrypted with Fernet; the key
comes from the ``WARDWATCH_NETDEVICES_KEY`` environment variable or from ``<data_dir>/netdevices.key``
(created 0600 on first use); neither the key nor a password is ever logged or returned.

The key rotates (``wardwatch keys rotate device-passwords``): the file holds the new key first and the
old one after it while every stored password is re-encrypted, then the new key alone; a crash in
between leaves both keys in the file, so nothing becomes unreadable.
"""

from __future__ import annotations

import difflib
import os
import stat
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.fernet import Fernet, MultiFernet
from sqlmodel import Session, col, select

from collector.models.core import Device, DeviceKind, Site
from collector.models.netdevices import ManagedNetDevice, NetDeviceConfig
from collector.models.types import utcnow
from collector.services.errors import Conflict, NotFound
from inventory.netdevices.facts import PLATFORM_CHOICES

KEY_ENV = "WARDWATCH_NETDEVICES_KEY"
KEY_FILE = "netdevices.key"


# ---- configuration versions ---------------------------------------------------------------------


def latest_config(session: Session, device_id: int) -> NetDeviceConfig | None:
    q = (
        select(NetDeviceConfig)
        .where(NetDeviceConfig.device_id == device_id)
        .order_by(col(NetDeviceConfig.id).desc())
    )
    return session.exec(q).first()


def record_config(
    session: Session,
    *,
    device_id: int,
    config_hash: str,
    text: str,
    report_id: str,
    seen_at: datetime,
    os_version: str | None = None,
) -> tuple[NetDeviceConfig, bool]:
    """Store a version when the hash differs from the latest one; returns (version, is_new)."""
    latest = latest_config(session, device_id)
    if latest is not None and latest.hash == config_hash:
        latest.last_seen_at = max(latest.last_seen_at, seen_at)
        session.add(latest)
        return latest, False
    version = NetDeviceConfig(
        device_id=device_id,
        hash=config_hash,
        text=text,
        lines=len(text.splitlines()),
        first_seen_at=seen_at,
        last_seen_at=seen_at,
        report_id=report_id,
        changed=latest is not None,
        previous_id=latest.id if latest else None,
        os_version=os_version,
    )
    session.add(version)
    session.flush()
    return version, True


def config_versions(session: Session, device_id: int) -> list[NetDeviceConfig]:
    q = (
        select(NetDeviceConfig)
        .where(NetDeviceConfig.device_id == device_id)
        .order_by(col(NetDeviceConfig.id).desc())
    )
    return list(session.exec(q).all())


def get_version(session: Session, device_id: int, version_id: int) -> NetDeviceConfig:
    v = session.get(NetDeviceConfig, version_id)
    if v is None or v.device_id != device_id:
        raise NotFound(
            "no configuration version %(version_id)s for device %(device_id)s",
            version_id=version_id,
            device_id=device_id,
        )
    return v


@dataclass
class ConfigDiff:
    a: NetDeviceConfig
    b: NetDeviceConfig
    unified: str
    added: int
    removed: int
    # (kind, text) rows for display: kind is "add", "del", "ctx" or "hunk"
    rows: list[tuple[str, str]]


def diff_versions(session: Session, *, device_id: int, a: int, b: int) -> ConfigDiff:
    va, vb = get_version(session, device_id, a), get_version(session, device_id, b)
    lines = list(
        difflib.unified_diff(
            va.text.splitlines(),
            vb.text.splitlines(),
            fromfile=f"version {va.id} ({va.first_seen_at:%Y-%m-%d %H:%M} UTC)",
            tofile=f"version {vb.id} ({vb.first_seen_at:%Y-%m-%d %H:%M} UTC)",
            lineterm="",
            n=3,
        )
    )
    rows: list[tuple[str, str]] = []
    added = removed = 0
    for line in lines[2:]:
        if line.startswith("@@"):
            rows.append(("hunk", line))
        elif line.startswith("+"):
            rows.append(("add", line[1:]))
            added += 1
        elif line.startswith("-"):
            rows.append(("del", line[1:]))
            removed += 1
        else:
            rows.append(("ctx", line[1:]))
    return ConfigDiff(va, vb, "\n".join(lines) + ("\n" if lines else ""), added, removed, rows)


@dataclass
class SiteNetDevice:
    device: Device
    latest: NetDeviceConfig | None
    versions: int


def site_network_devices(session: Session, site_id: int) -> list[SiteNetDevice]:
    devices = session.exec(
        select(Device)
        .where(Device.site_id == site_id, Device.kind == DeviceKind.NETWORK_DEVICE)
        .order_by(col(Device.hostname))
    ).all()
    out = []
    for d in devices:
        versions = config_versions(session, d.id or 0)
        out.append(SiteNetDevice(d, versions[0] if versions else None, len(versions)))
    return out


# ---- the managed device list --------------------------------------------------------------------


def load_key(data_dir: Path, env: dict[str, str] | None = None) -> bytes:
    env = dict(os.environ) if env is None else env
    if env.get(KEY_ENV):
        key = env[KEY_ENV].strip().encode()
    else:
        path = data_dir / KEY_FILE
        if not path.exists():
            data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(Fernet.generate_key() + b"\n")
        if os.name == "posix" and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise Conflict("key file %(path)s is readable by others; chmod 600 it", path=path)
        key = path.read_bytes().strip()
    try:
        _cipher(key)
    except (ValueError, TypeError):
        raise Conflict(
            "the network device key (%(key_env)s or %(key_file)s) is not a valid Fernet key",
            key_env=KEY_ENV,
            key_file=KEY_FILE,
        ) from None
    return key


def _site(session: Session, code: str) -> Site:
    site = session.exec(select(Site).where(Site.code == code)).first()
    if site is None:
        raise NotFound("no site with code %(code)s", code=repr(code))
    return site


def list_managed(session: Session, *, site_code: str | None = None) -> list[tuple[ManagedNetDevice, str]]:
    q = select(ManagedNetDevice, Site.code).join(Site, Site.id == ManagedNetDevice.site_id)
    if site_code:
        q = q.where(Site.code == site_code)
    return [(m, code) for m, code in session.exec(q.order_by(Site.code, ManagedNetDevice.name)).all()]


def upsert_managed(
    session: Session,
    *,
    key: bytes,
    site_code: str,
    name: str,
    host: str,
    port: int,
    platform: str,
    username: str,
    password: str | None,
    actor: str,
    device_id: int | None = None,
) -> ManagedNetDevice:
    if platform not in PLATFORM_CHOICES:
        raise Conflict(
            "unknown platform %(platform)s; expected one of %(choices)s",
            platform=repr(platform),
            choices=", ".join(PLATFORM_CHOICES),
        )
    site = _site(session, site_code)
    clash = session.exec(
        select(ManagedNetDevice).where(ManagedNetDevice.site_id == site.id, ManagedNetDevice.name == name)
    ).first()
    # A new device, or a rename onto another device's name: the name is taken in that site.
    if clash is not None and clash.id != device_id:
        raise Conflict(
            "site %(site_code)s already has a network device named %(name)s",
            site_code=site_code,
            name=repr(name),
        )
    if device_id is None:
        row = ManagedNetDevice(
            site_id=site.id or 0, name=name, host=host, username=username, created_by=actor
        )
    else:
        found = session.get(ManagedNetDevice, device_id)
        if found is None:
            raise NotFound("no managed network device %(device_id)s", device_id=device_id)
        row = found
        row.site_id, row.name, row.host, row.username = site.id or 0, name, host, username
    row.port, row.platform, row.updated_at = port, platform, utcnow()
    if password:
        row.password_enc = _cipher(key).encrypt(password.encode())
    session.add(row)
    session.flush()
    from collector.services import audit

    audit.record(
        session,
        actor=actor,
        action="netdevice.saved",
        target=f"{site_code}/{name}",
        detail={"password_changed": bool(password)},  # never the password
        sites=[site.id],
    )
    return row


def delete_managed(session: Session, *, device_id: int, actor: str) -> None:
    row = session.get(ManagedNetDevice, device_id)
    if row is None:
        raise NotFound("no managed network device %(device_id)s", device_id=device_id)
    session.delete(row)
    from collector.services import audit

    audit.record(session, actor=actor, action="netdevice.deleted", target=row.name, sites=[row.site_id])


def managed_password(row: ManagedNetDevice, key: bytes) -> str | None:
    """The decrypted password, for a poller that runs at the collector; never for display."""
    return _cipher(key).decrypt(row.password_enc).decode() if row.password_enc else None


def _cipher(key: bytes) -> MultiFernet:
    """The first key encrypts; every key in the file (one per line) decrypts."""
    keys = key.split()
    if not keys:
        raise ValueError("no key")
    return MultiFernet([Fernet(k) for k in keys])


def rotate_key(session: Session, *, data_dir: Path, actor: str) -> int:
    """A new device-password key; every stored password re-encrypted with it (the caller commits,
    then calls ``drop_old_keys``). Returns how many passwords were re-encrypted."""
    if os.environ.get(KEY_ENV):
        raise Conflict(
            "the key comes from %(key_env)s: put a new key (Fernet.generate_key()) first and the old one after it, separated by a space, restart, then run this rotation with the file instead",  # noqa: E501  # noqa: E501
            key_env=KEY_ENV,
        )
    old = load_key(data_dir)
    new = Fernet.generate_key()
    _write_key(data_dir / KEY_FILE, new + b"\n" + old + b"\n")
    cipher = _cipher(new + b"\n" + old)
    rows = session.exec(select(ManagedNetDevice).where(col(ManagedNetDevice.password_enc).is_not(None))).all()
    for row in rows:
        assert row.password_enc is not None
        row.password_enc = cipher.rotate(row.password_enc)
        session.add(row)
    from collector.services import audit

    audit.record(session, actor=actor, action="netdevice.key_rotated", detail={"passwords": len(rows)})
    session.flush()
    return len(rows)


def drop_old_keys(data_dir: Path) -> None:
    """After the re-encrypted passwords are committed: only the current key stays."""
    path = data_dir / KEY_FILE
    _write_key(path, path.read_bytes().split()[0] + b"\n")


def _write_key(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
