"""Changing the list of sites: create, rename, and merge two communes into one (audited).

Merging moves every record of the absorbed site into the other: its devices (through the one move
service, ``collector.services.moves``, with their history and findings), then every other table
that names the site (agents, inspections, publications, enroll secrets, user scopes, LAN records,
the network device list...). The absorbed site is deleted only once nothing names it any more, so a
table nobody thought of stops the merge instead of being deleted with the site.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Table, delete, func, update
from sqlmodel import Session, col, select

from collector.models import metadata
from collector.models.core import Device, Site
from collector.services import audit, moves
from collector.services.errors import Conflict, ServiceError
from collector.services.sites import MAX_LENGTHS, create_site, get_site_by_code

# Tables with a uniqueness that includes the site: merged row by row (see ``_merge_rows``).
SPECIAL = frozenset(
    {"site", "device", "usersite", "lan_host", "managed_netdevice", "auditeventsite", "site_daily"}
)


def add_site(
    session: Session, *, code: str, name: str, address: str | None, actor: str, addr: str | None = None
) -> Site:
    site = create_site(session, code=code, name=name, address=(address or "").strip() or None)
    audit.record(
        session,
        actor=actor,
        action="site.create",
        target=site.code,
        address=addr,
        detail={"name": site.name},
        sites=[site.id],
    )
    return site


def rename_site(
    session: Session, *, code: str, name: str, address: str | None, actor: str, addr: str | None = None
) -> Site:
    """A new name (and address) for a site; its code, which agents and files refer to, stays."""
    site = get_site_by_code(session, code)
    name = name.strip()
    if not name:
        raise ServiceError("site %(code)s: a name is required", code=code)
    address = (address or "").strip() or None
    for what, value in (("name", name), ("address", address)):
        if value and len(value) > MAX_LENGTHS[what]:
            raise ServiceError(
                "site %(code)s: %(what)s is %(n)s characters; at most %(max_lengths)s",
                code=code,
                what=what,
                n=len(value),
                max_lengths=MAX_LENGTHS[what],
            )
    before = {"name": site.name, "address": site.address}
    site.name, site.address = name, address
    session.add(site)
    audit.record(
        session,
        actor=actor,
        action="site.rename",
        target=site.code,
        address=addr,
        detail={"before": before, "after": {"name": name, "address": address}},
        sites=[site.id],
    )
    session.flush()
    return site


def _site_columns() -> list[tuple[Table, str]]:
    return [
        (table, column.name)
        for table in metadata.sorted_tables
        for column in moves.foreign_keys_to(table, "site")
    ]


def _count(session: Session, table: Table, column: str, site_id: int) -> int:
    return int(session.exec(select(func.count()).select_from(table).where(table.c[column] == site_id)).one())


@dataclass
class MergePreview:
    source: Site
    target: Site
    # table name -> rows that name the absorbed site (devices, agent, finding, inspection...)
    counts: dict[str, int]
    # network devices of the absorbed site's list whose name the other site's list already uses
    renamed_netdevices: list[str] = field(default_factory=list)


def merge_preview(session: Session, *, source_code: str, target_code: str) -> MergePreview:
    source, target = _pair(session, source_code, target_code)
    counts: dict[str, int] = {}
    for table, column in _site_columns():
        n = _count(session, table, column, source.id or 0)
        if n:
            counts[table.name] = counts.get(table.name, 0) + n
    return MergePreview(source, target, counts, _netdevice_clashes(session, source, target))


def _pair(session: Session, source_code: str, target_code: str) -> tuple[Site, Site]:
    source = get_site_by_code(session, source_code)
    target = get_site_by_code(session, target_code)
    if source.id == target.id:
        raise ServiceError("choose two different sites to merge")
    return source, target


def _netdevice_clashes(session: Session, source: Site, target: Site) -> list[str]:
    from collector.models.netdevices import ManagedNetDevice

    names = select(ManagedNetDevice.name).where(ManagedNetDevice.site_id == target.id)
    q = select(ManagedNetDevice.name).where(
        ManagedNetDevice.site_id == source.id, col(ManagedNetDevice.name).in_(names)
    )
    return sorted(session.exec(q).all())


def merge_sites(
    session: Session, *, source_code: str, target_code: str, actor: str, addr: str | None = None
) -> MergePreview:
    """Move everything of ``source_code`` into ``target_code`` and delete the emptied site."""
    preview = merge_preview(session, source_code=source_code, target_code=target_code)
    source, target = preview.source, preview.target
    sid, tid = source.id or 0, target.id or 0
    reason = f"site {source.code} merged into {target.code}"
    device_ids = list(session.exec(select(Device.id).where(Device.site_id == sid)).all())
    moves.move_devices(
        session, device_ids=[i for i in device_ids if i], to_site=target, actor=actor, reason=reason
    )
    _merge_rows(session, source, target)
    for table, column in _site_columns():
        if table.name not in SPECIAL:
            session.exec(update(table).where(table.c[column] == sid).values({column: tid}))
    left = {t.name: n for t, c in _site_columns() if (n := _count(session, t, c, sid))}
    left.pop("site", None)
    if left:
        raise Conflict(
            "site %(source_code)s still has records after the merge (%(left)s); nothing was changed",
            source_code=source.code,
            left=left,
        )
    session.exec(delete(Site).where(col(Site.id) == sid))
    audit.record(
        session,
        actor=actor,
        action="site.merge",
        target=target.code,
        address=addr,
        detail={
            "from": source.code,
            "from_name": source.name,
            "into": target.code,
            "moved": preview.counts,
            "renamed_netdevices": preview.renamed_netdevices,
        },
        sites=[tid],
    )
    session.flush()
    session.expire_all()
    return preview


def _merge_rows(session: Session, source: Site, target: Site) -> None:
    """The tables whose uniqueness includes the site."""
    from collector.models.core import UserSite
    from collector.models.lan import LanHost
    from collector.models.netdevices import ManagedNetDevice

    sid, tid = source.id or 0, target.id or 0
    from collector.models.security import AuditEventSite
    from collector.models.snapshots import CityDaily, SiteCurrent, SiteDaily

    # An audit event naming both sites keeps one row (it names the merged site).
    named = select(AuditEventSite.event_id).where(AuditEventSite.site_id == target.id)
    session.exec(
        delete(AuditEventSite).where(
            col(AuditEventSite.site_id) == source.id, col(AuditEventSite.event_id).in_(named)
        )
    )
    session.exec(
        update(AuditEventSite).where(col(AuditEventSite.site_id) == source.id).values(site_id=target.id)
    )
    # The absorbed site's daily figures describe a site that no longer exists; the merged site's
    # today is recorded afresh by the move.
    session.exec(delete(SiteDaily).where(col(SiteDaily.site_id) == source.id))
    session.exec(delete(SiteCurrent).where(col(SiteCurrent.site_id) == source.id))
    session.exec(delete(CityDaily))  # the city's past days counted the absorbed site's snapshots
    # A user scoped to both keeps one row.
    both = select(UserSite.user_id).where(UserSite.site_id == tid)
    session.exec(delete(UserSite).where(col(UserSite.site_id) == sid, col(UserSite.user_id).in_(both)))
    session.exec(update(UserSite).where(col(UserSite.site_id) == sid).values(site_id=tid))
    # The same LAN host (by MAC or IP) seen in both: the latest sighting stays.
    kept = {h.key: h for h in session.exec(select(LanHost).where(LanHost.site_id == tid)).all()}
    for host in session.exec(select(LanHost).where(LanHost.site_id == sid)).all():
        other = kept.get(host.key)
        if other is not None:
            session.delete(other if host.last_seen_at > other.last_seen_at else host)
    session.flush()
    session.exec(update(LanHost).where(col(LanHost.site_id) == sid).values(site_id=tid))
    # A name both device lists use: the absorbed site's entry is renamed "name (CODE)".
    clashes = set(_netdevice_clashes(session, source, target))
    for row in session.exec(select(ManagedNetDevice).where(ManagedNetDevice.site_id == sid)).all():
        if row.name in clashes:
            row.name = f"{row.name} ({source.code})"[:255]
        row.site_id = tid
        session.add(row)
    session.flush()
