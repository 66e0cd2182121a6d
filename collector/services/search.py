"""The global search: one box for hostnames, serials, MACs, IPs, asset tags, software (with version
comparisons such as ``winrar<6.23``), certificates and network devices; results grouped by kind and
limited to the sites the user may see.

What a query is taken for:
- ``name OP version`` (OP one of < <= > >= = == !=): programs named like ``name`` whose version compares
  so (``collector.services.versions``), and the devices that have them;
- otherwise every kind is searched for the text: a hostname, serial, asset tag, program, certificate
  subject or network device name containing it (any case); a MAC written with separators or as 12
  hex digits; an IPv4 address (exact) or its first octets (``192.168.1.``); a certificate serial in hex.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, func, or_
from sqlmodel import Session, col, select

from collector.models.assets import Asset
from collector.models.certificates import DeviceCertificate
from collector.models.core import Device, DeviceKind, Site
from collector.models.search import DeviceAddress, DeviceSoftware, SoftwarePackage
from collector.services.errors import ServiceError
from collector.services.search_index import fold
from collector.services.versions import VersionQuery, parse_version_query

Scope = Collection[int] | None
KINDS = ("device", "network_device", "software", "certificate")
MIN_LENGTH, MAX_LENGTH = 2, 200
_MAC_SEP = re.compile(r"^[0-9a-fA-F]{1,4}([:.\-][0-9a-fA-F]{1,4})+$")
_IPV4_PREFIX = re.compile(r"^\d{1,3}(\.\d{1,3}){0,3}\.?$")
_HEX = re.compile(r"^(0x)?[0-9a-fA-F: ]+$")


@dataclass
class Hit:
    kind: str
    title: str
    href: str
    site_code: str
    site_name: str
    # What matched and its value ("serial", "SN0001"); the page says "Serial number: SN0001".
    matched: str
    value: str
    device_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class SearchResult:
    query: str
    version_query: VersionQuery | None
    groups: dict[str, list[Hit]]
    more: dict[str, bool]  # kind -> more hits than shown

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.groups.values())


def normalize_query(text: str | None) -> str:
    q = " ".join((text or "").split())
    if len(q) < MIN_LENGTH:
        raise ServiceError("type at least %(min_length)s characters to search", min_length=MIN_LENGTH)
    if len(q) > MAX_LENGTH:
        raise ServiceError("a search is at most %(max_length)s characters", max_length=MAX_LENGTH)
    return q


def contains_pattern(text: str) -> str:
    """A LIKE pattern for "contains", with the wildcards of the text escaped (escape char: /)."""
    return "%" + text.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"


def mac_pattern(q: str) -> str | None:
    """A MAC (or part of one) in the stored form (lower case, colons), or None."""
    digits = re.sub(r"[^0-9a-fA-F]", "", q).lower()
    if re.fullmatch(r"[0-9a-fA-F]{12}", q):
        return ":".join(digits[i : i + 2] for i in range(0, 12, 2))
    if not _MAC_SEP.match(q) or len(digits) < 4:
        return None
    if len(digits) == 12:
        return ":".join(digits[i : i + 2] for i in range(0, 12, 2))
    # A fragment as typed with colons or dashes ("44:01", "44-01"): compare with colons.
    if re.fullmatch(r"([0-9a-f]{2}[:\-])+[0-9a-f]{2}", q.lower()):
        return q.lower().replace("-", ":")
    return None


def ip_pattern(q: str) -> tuple[str, bool] | None:
    """(address or prefix, exact) for an IPv4 address or its first octets, an IPv6 address; else None."""
    if _IPV4_PREFIX.match(q) and "." in q:
        octets = [o for o in q.split(".") if o]
        if any(int(o) > 255 for o in octets):
            return None
        if len(octets) == 4 and not q.endswith("."):
            return q, True
        return ".".join(octets) + ".", False
    try:
        return str(ipaddress.ip_address(q)), True
    except ValueError:
        return None


def cert_serial(q: str) -> str | None:
    """A certificate serial as stored (upper-case hex, no separators, no leading zeros), or None."""
    if not _HEX.match(q):
        return None
    digits = re.sub(r"[^0-9a-fA-F]", "", q[2:] if q.lower().startswith("0x") else q).upper().lstrip("0")
    return digits if len(digits) >= 6 else None


def _scoped(q: Any, column: Any, scope: Scope) -> Any:
    return q.where(column.in_(list(scope))) if scope is not None else q


def search(
    session: Session, *, q: str, scope: Scope, limit: int = 20, kinds: Collection[str] = KINDS
) -> SearchResult:
    """Every kind searched for ``q`` (normalised first), at most ``limit`` hits per kind."""
    query = normalize_query(q)
    vq = parse_version_query(query)
    groups: dict[str, list[Hit]] = {}
    more: dict[str, bool] = {}

    def put(kind: str, hits: list[Hit]) -> None:
        if hits:
            groups[kind] = hits[:limit]
            more[kind] = len(hits) > limit

    if "software" in kinds:
        put("software", _software(session, query, vq, scope, limit + 1))
    if vq is None:
        if "device" in kinds:
            put("device", _devices(session, query, scope, limit + 1, network=False))
        if "network_device" in kinds:
            put("network_device", _devices(session, query, scope, limit + 1, network=True))
        if "certificate" in kinds:
            put("certificate", _certificates(session, query, scope, limit + 1))
    return SearchResult(query=query, version_query=vq, groups=groups, more=more)


# ---- devices: hostname, serial, MAC, IP, asset tag -------------------------------------------------


def _device_hits(
    session: Session, rows: list[tuple[Device, Site, str, str]], limit: int, network: bool
) -> list[Hit]:
    seen: set[int] = set()
    out = []
    for device, site, matched, value in rows:
        if device.id in seen:
            continue
        seen.add(device.id or 0)
        out.append(
            Hit(
                kind="network_device" if network else "device",
                title=device.hostname,
                href=f"/devices/{device.id}",
                site_code=site.code,
                site_name=site.name,
                matched=matched,
                value=value,
                device_id=device.id,
            )
        )
        if len(out) >= limit:
            break
    return out


# Up to this many matches are read unordered (hostname and id only) and sorted here; more are read in
# hostname order.
FEW_MATCHES = 5000


def _first_by_hostname(session: Session, query: Any, limit: int) -> list[Any]:
    """The first ``limit`` rows of ``query`` by hostname. A rare substring (a serial) is found through
    the trigram indexes and sorted here; asked for in hostname order at once, PostgreSQL walked the
    hostname index and filtered 42,000 rows to find 21 serials (70 ms at 100,000 devices). A common
    one (more than FEW_MATCHES matches) is dense in that walk, which then stops early."""
    keys = list(
        session.exec(query.with_only_columns(Device.hostname, Device.id).limit(FEW_MATCHES + 1)).all()
    )
    if len(keys) > FEW_MATCHES:
        return list(session.exec(query.order_by(col(Device.hostname), col(Device.id)).limit(limit)).all())
    wanted = [i for _h, i in sorted(keys)[:limit]]
    rows = list(session.exec(query.where(col(Device.id).in_(wanted))).all()) if wanted else []
    return sorted(rows, key=lambda r: (r[0].hostname, r[0].id))


def _devices(session: Session, q: str, scope: Scope, limit: int, *, network: bool) -> list[Hit]:
    kind = DeviceKind.NETWORK_DEVICE if network else DeviceKind.HOST
    base = select(Device, Site).join(Site, col(Site.id) == col(Device.site_id)).where(Device.kind == kind)
    base = _scoped(base, col(Device.site_id), scope)
    like = contains_pattern(q)
    rows: list[tuple[Device, Site, str, str]] = []

    def take(query: Any, matched: str, value_of: Any) -> None:
        for found in session.exec(query.order_by(col(Device.hostname), col(Device.id)).limit(limit)).all():
            device, site = found[0], found[1]
            rows.append((device, site, matched, value_of(found)))

    ip = ip_pattern(q)
    # The text fields in one pass over the devices (a substring match is a scan); an address typed
    # as an address (10.2.0.11, 192.168.1.) skips it and goes to the address index instead.
    needle = q.casefold()
    fields = ["hostname", "serial", *(["address", "platform"] if network else [])]
    if ip is None:
        matches = or_(*[col(getattr(Device, name)).ilike(like, escape="/") for name in fields])
        for found in _first_by_hostname(session, base.where(matches), limit):
            device, site = found[0], found[1]
            name = next((n for n in fields if needle in (getattr(device, n) or "").casefold()), "hostname")
            rows.append((device, site, name, getattr(device, name) or ""))
    mac = mac_pattern(q)
    if mac:
        exact = len(mac) == 17
        cond: ColumnElement[bool] = (
            col(DeviceAddress.value) == mac
            if exact
            else col(DeviceAddress.value).like(contains_pattern(mac), escape="/")
        )
        take(
            base.add_columns(DeviceAddress.value)
            .join(DeviceAddress, col(DeviceAddress.device_id) == col(Device.id))
            .where(DeviceAddress.kind == "mac", cond),
            "mac",
            lambda r: r[2],
        )
        if exact:  # the identity MAC (a network device reports no interfaces section)
            take(base.where(Device.mac == mac), "mac", lambda r: r[0].mac or "")
    if ip:
        value, exact = ip
        cond = col(DeviceAddress.value) == value if exact else col(DeviceAddress.value).startswith(value)
        take(
            base.add_columns(DeviceAddress.value)
            .join(DeviceAddress, col(DeviceAddress.device_id) == col(Device.id))
            .where(DeviceAddress.kind == "ip", cond),
            "ip",
            lambda r: r[2],
        )
        if network:  # only network devices are polled at an address
            take(
                base.where(Device.address == value if exact else col(Device.address).startswith(value)),
                "ip",
                lambda r: r[0].address or "",
            )
    if not network and ip is None:
        take(
            base.add_columns(Asset.asset_tag)
            .join(Asset, col(Asset.device_id) == col(Device.id))
            .where(col(Asset.asset_tag).ilike(like, escape="/")),
            "asset_tag",
            lambda r: r[2] or "",
        )
    return _device_hits(session, rows, limit, network)


# ---- software ----------------------------------------------------------------------------------------


def package_condition(q: str, vq: VersionQuery | None, *, dialect: str) -> Any:
    """The SQL condition on ``SoftwarePackage`` for a software query (text, or name OP version)."""
    if vq is None:
        return col(SoftwarePackage.name_fold).like(contains_pattern(fold(q)), escape="/")
    column = col(SoftwarePackage.version_key)
    # version keys compare byte by byte, whatever the database's collation
    key = column.collate("C") if dialect == "postgresql" else column
    compare = {
        "<": key < vq.key,
        "<=": key <= vq.key,
        ">": key > vq.key,
        ">=": key >= vq.key,
        "==": key == vq.key,
        "!=": key != vq.key,
    }[vq.op]
    name = col(SoftwarePackage.name_fold).like(contains_pattern(fold(vq.name)), escape="/")
    return name & col(SoftwarePackage.version_key).is_not(None) & compare


def _software(session: Session, q: str, vq: VersionQuery | None, scope: Scope, limit: int) -> list[Hit]:
    dialect = session.get_bind().dialect.name
    devices = func.count(func.distinct(DeviceSoftware.device_id))
    query = (
        select(SoftwarePackage, devices)
        .join(DeviceSoftware, col(DeviceSoftware.package_id) == col(SoftwarePackage.id))
        .where(package_condition(q, vq, dialect=dialect))
        .group_by(col(SoftwarePackage.id))
        .order_by(col(SoftwarePackage.name_fold), col(SoftwarePackage.version_key), col(SoftwarePackage.id))
        .limit(limit)
    )
    query = _scoped(query, col(DeviceSoftware.site_id), scope)
    out = []
    for package, n in session.exec(query).all():
        out.append(
            Hit(
                kind="software",
                title=package.name,
                href=f"/devices?package={package.id}",
                site_code="",
                site_name="",
                matched="version",
                value=package.version,
                extra={"devices": int(n), "vendor": package.vendor, "package_id": package.id},
            )
        )
    return out


# ---- certificates -------------------------------------------------------------------------------------


def _certificates(session: Session, q: str, scope: Scope, limit: int) -> list[Hit]:
    like = contains_pattern(q)
    conds = [
        col(DeviceCertificate.subject).ilike(like, escape="/"),
        col(DeviceCertificate.subject_cn).ilike(like, escape="/"),
    ]
    serial = cert_serial(q)
    if serial:
        conds.append(col(DeviceCertificate.serial).like(contains_pattern(serial), escape="/"))
    query = (
        select(DeviceCertificate, Device, Site)
        .join(Device, col(Device.id) == col(DeviceCertificate.device_id))
        .join(Site, col(Site.id) == col(DeviceCertificate.site_id))
        .where(or_(*conds))
        .order_by(col(DeviceCertificate.not_after), col(DeviceCertificate.id))
        .limit(limit)
    )
    query = _scoped(query, col(DeviceCertificate.site_id), scope)
    out = []
    for cert, device, site in session.exec(query).all():
        by_serial = bool(serial) and serial in cert.serial
        out.append(
            Hit(
                kind="certificate",
                title=cert.subject_cn or cert.subject,
                href=f"/devices/{device.id}/certificates",
                site_code=site.code,
                site_name=site.name,
                matched="serial" if by_serial else "subject",
                value=cert.serial if by_serial else cert.subject,
                device_id=device.id,
                extra={"hostname": device.hostname, "not_after": cert.not_after, "issuer": cert.issuer_cn},
            )
        )
    return out
