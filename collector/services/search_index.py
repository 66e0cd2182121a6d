"""Keep each device's programs and addresses in the search tables (``collector.models.search``).

``software_rows`` and ``address_rows`` are pure (the migration that fills the tables for devices
already reporting uses them too); ``sync_software`` / ``sync_addresses`` rewrite one device's rows
inside the ingest transaction. Packages are shared between devices and inserted with "on conflict do
nothing", so two communes' agents reporting the same new program at once do not collide.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import delete, text, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from collector.models.core import Device
from collector.models.search import DeviceAddress, DeviceSoftware, SoftwarePackage
from collector.services.versions import version_key

NAME_MAX, VERSION_MAX, VENDOR_MAX = 255, 128, 255


class SoftwareRow(NamedTuple):
    # A tuple, not a frozen dataclass: a new PC's section makes 1,500 of them.
    name: str
    version: str
    vendor: str | None
    install_date: date | None


def fold(text: str) -> str:
    """The case-insensitive form searched (Unicode-aware: "Phần Mềm" and "phần mềm" match)."""
    return text.casefold()[:NAME_MAX]


def software_rows(data: Any) -> list[SoftwareRow]:
    """One row per distinct (name, version) of a ``software`` section; unreadable items are skipped."""
    out: dict[tuple[str, str], SoftwareRow] = {}
    for item in data if isinstance(data, list) else []:
        if not isinstance(item, dict):
            continue
        name = str(item.get("name") or "").strip()[:NAME_MAX]
        if not name:
            continue
        version = str(item.get("version") or "").strip()[:VERSION_MAX]
        key = (name, version)
        if key in out:
            continue  # the first of a (name, version) wins
        vendor = (str(item.get("vendor") or "").strip()[:VENDOR_MAX]) or None
        installed = None
        raw = item.get("install_date")
        if raw:
            try:
                installed = date.fromisoformat(str(raw)[:10])
            except ValueError:
                installed = None
        out[key] = SoftwareRow(name, version, vendor, installed)
    return list(out.values())


def _mac(value: Any) -> str | None:
    digits = "".join(ch for ch in str(value or "").lower() if ch in "0123456789abcdef")
    if len(digits) != 12 or digits == "0" * 12:
        return None
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def address_rows(data: Any) -> list[tuple[str, str, str | None]]:
    """(kind, value, interface) for every IP and MAC of a ``network_interfaces`` section.

    Loopback and link-local addresses are left out: every PC has them, so they identify nothing.
    """
    out: dict[tuple[str, str], str | None] = {}
    for item in data if isinstance(data, list) else []:
        if not isinstance(item, dict):
            continue
        name = (str(item.get("name") or "")[:255]) or None
        mac = _mac(item.get("mac"))
        if mac:
            out.setdefault(("mac", mac), name)
        for raw in [*(item.get("ipv4") or []), *(item.get("ipv6") or [])]:
            try:
                ip = ipaddress.ip_interface(str(raw).strip()).ip
            except ValueError:
                continue
            if ip.is_loopback or ip.is_link_local or ip.is_unspecified:
                continue
            out.setdefault(("ip", str(ip)), name)
    return [(kind, value, iface) for (kind, value), iface in out.items()]


def _insert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def ensure_packages(session: Session, rows: Iterable[SoftwareRow]) -> dict[tuple[str, str], int]:
    """The ids of these (name, version) packages, creating the missing ones."""
    wanted = {(r.name, r.version): r for r in rows}
    if not wanted:
        return {}
    keys = list(wanted)
    ids = _package_ids(session, keys)
    missing = [wanted[k] for k in keys if k not in ids]
    if missing:
        # The table, not the ORM entity: the ORM's bulk insert path cost more than the rows.
        table = SoftwarePackage.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
        stmt = _insert(session)(table).on_conflict_do_nothing(index_elements=["name", "version"])
        session.execute(
            stmt,
            [
                {
                    "name": r.name,
                    "version": r.version,
                    "name_fold": fold(r.name),
                    "version_key": version_key(r.version),
                    "vendor": r.vendor,
                }
                for r in missing
            ],
        )
        ids.update(_package_ids(session, [(r.name, r.version) for r in missing]))
    return ids


# The stored packages among a list of (name, version) keys, sent as one value (no bound parameter
# per key: a tuple IN of 500 pairs a chunk cost more to build than to run) and joined on the unique
# (name, version) index.
_PG_PACKAGE_IDS = text(
    "SELECT p.id, p.name, p.version FROM unnest(CAST(:names AS VARCHAR[]), CAST(:versions AS VARCHAR[]))"
    " AS k(name, version) JOIN software_package AS p ON p.name = k.name AND p.version = k.version"
)
_SQLITE_PACKAGE_IDS = text(
    "SELECT p.id, p.name, p.version FROM json_each(:keys) AS k CROSS JOIN software_package AS p"
    " ON p.name = json_extract(k.value, '$[0]') AND p.version = json_extract(k.value, '$[1]')"
)


def _package_ids(session: Session, keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """The ids of the stored packages among these (name, version) keys, in one statement."""
    if not keys:
        return {}
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        rows = session.execute(
            _PG_PACKAGE_IDS, {"names": [k[0] for k in keys], "versions": [k[1] for k in keys]}
        ).all()
    elif dialect == "sqlite":
        rows = session.execute(_SQLITE_PACKAGE_IDS, {"keys": json.dumps(keys, ensure_ascii=False)}).all()
    else:
        rows = []
        for start in range(0, len(keys), 500):
            q = select(SoftwarePackage.id, SoftwarePackage.name, SoftwarePackage.version).where(
                tuple_(col(SoftwarePackage.name), col(SoftwarePackage.version)).in_(keys[start : start + 500])
            )
            rows.extend(session.exec(q).all())
    return {(name, version): pid for pid, name, version in rows}


def sync_software(session: Session, *, device: Device, data: Any) -> None:
    """Make the device's rows in ``device_software`` what its ``software`` section says."""
    assert device.id is not None
    rows = software_rows(data)
    # The device's rows with their packages' names in one query: a package it already lists needs no
    # look-up, so only the new (name, version) pairs go to ensure_packages (most of a changed software
    # section is unchanged programs; looking every one up was a third of a delta report's CPU).
    current: dict[int, tuple[Any, Any]] = {}
    ids: dict[tuple[str, str], int] = {}
    for pid, site_id, installed, name, version in session.exec(
        select(
            DeviceSoftware.package_id,
            DeviceSoftware.site_id,
            DeviceSoftware.install_date,
            SoftwarePackage.name,
            SoftwarePackage.version,
        )
        .join(SoftwarePackage, col(SoftwarePackage.id) == col(DeviceSoftware.package_id))
        .where(DeviceSoftware.device_id == device.id)
    ).all():
        current[pid] = (site_id, installed)
        ids[(name, version)] = pid
    ids.update(ensure_packages(session, [r for r in rows if (r.name, r.version) not in ids]))
    wanted = {ids[(r.name, r.version)]: r for r in rows if (r.name, r.version) in ids}
    gone = [pid for pid in current if pid not in wanted]
    if gone:
        session.exec(
            delete(DeviceSoftware).where(
                col(DeviceSoftware.device_id) == device.id, col(DeviceSoftware.package_id).in_(gone)
            )
        )
    site = device.site_id  # an ORM attribute: read once, not once per program
    changed = {pid for pid, r in wanted.items() if pid in current and current[pid] != (site, r.install_date)}
    if changed:
        session.exec(
            delete(DeviceSoftware).where(
                col(DeviceSoftware.device_id) == device.id,
                col(DeviceSoftware.package_id).in_(sorted(changed)),
            )
        )
    new = [pid for pid in wanted if pid not in current or pid in changed]
    if new:
        session.exec(
            DeviceSoftware.__table__.insert(),  # type: ignore[attr-defined]  # SQLModel declares no __table__
            params=[
                {
                    "device_id": device.id,
                    "package_id": pid,
                    "site_id": site,
                    "install_date": wanted[pid].install_date,
                }
                for pid in new
            ],
        )


def sync_addresses(session: Session, *, device: Device, data: Any) -> None:
    """Make the device's rows in ``device_address`` what its ``network_interfaces`` section says."""
    assert device.id is not None
    session.exec(delete(DeviceAddress).where(col(DeviceAddress.device_id) == device.id))
    rows = address_rows(data)
    if rows:
        session.exec(
            DeviceAddress.__table__.insert(),  # type: ignore[attr-defined]  # SQLModel declares no __table__
            params=[
                {"device_id": device.id, "kind": k, "value": v, "site_id": device.site_id, "interface": i}
                for k, v, i in rows
            ],
        )
