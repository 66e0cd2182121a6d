"""Reading sites and devices within a user's site scope."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from collector.models.core import Device, DeviceResult, DeviceSection, RawReport, Site
from collector.services import paging
from collector.services.errors import Forbidden, NotFound, ServiceError

Scope = Collection[int] | None  # site ids a user may see; None: every site


@dataclass
class SiteRow:
    site: Site
    device_count: int
    last_report_at: datetime | None


def list_sites(session: Session, *, scope: Scope) -> list[SiteRow]:
    q = (
        select(Site, func.count(col(Device.id)), func.max(Device.last_report_at))
        .join(Device, col(Device.site_id) == col(Site.id), isouter=True)
        .group_by(col(Site.id))
        .order_by(Site.code)
    )
    if scope is not None:
        q = q.where(col(Site.id).in_(scope))
    return [SiteRow(site, count, last) for site, count, last in session.exec(q).all()]


SITE_SORTING = paging.Sorting(
    keys=(paging.SortKey("code", (col(Site.code),)), paging.SortKey("name", (col(Site.name),))),
    tiebreak=col(Site.id),
    default="code",
)


def page_sites(
    session: Session,
    *,
    scope: Scope,
    sort: str | None = None,
    cursor: str | None = None,
    limit: int = 500,
    with_total: bool = True,
) -> paging.Page:
    """One keyset page of sites (``SiteRow``), each with its device count and newest report.

    The page is cut on the site table alone (an index walk on the code), then the figures are read
    for the page's sites only: the 3,321 communes of the country cost what 103 did."""
    q = select(Site)
    if scope is not None:
        q = q.where(col(Site.id).in_(list(scope)))
    page = paging.paginate(
        session, q, SITE_SORTING, sort=sort, cursor=cursor, limit=limit, with_total=with_total
    )
    ids = [s.id for s in page.rows]
    figures: dict[int, tuple[int, datetime | None]] = {}
    if ids:
        fq = (
            select(Device.site_id, func.count(), func.max(Device.last_report_at))
            .where(col(Device.site_id).in_(ids))
            .group_by(col(Device.site_id))
        )
        figures = {sid: (n, last) for sid, n, last in session.exec(fq).all()}
    page.rows = [SiteRow(s, *figures.get(s.id or 0, (0, None))) for s in page.rows]
    return page


def site_in_scope(session: Session, code: str, *, scope: Scope) -> Site:
    site = session.exec(select(Site).where(Site.code == code)).first()
    if site is None or (scope is not None and site.id not in scope):
        raise NotFound("no site with code %(code)s", code=repr(code))
    return site


def site_to_change(session: Session, code: str, *, scope: Scope) -> Site:
    """The site a change (a new inspection, enroll secret, managed device...) names.

    Outside the caller's scope it is refused (403) without being looked up, so the answer is the same
    whether such a site exists or not; a site that does not exist is a 404 for an unscoped caller.
    """
    q = select(Site).where(Site.code == code)
    if scope is not None:
        site = session.exec(q.where(col(Site.id).in_(list(scope)))).first()
        if site is None:
            raise Forbidden("site %(code)s is not one of your sites", code=repr(code))
        return site
    site = session.exec(q).first()
    if site is None:
        raise NotFound("no site with code %(code)s", code=repr(code))
    return site


def list_devices(
    session: Session,
    *,
    scope: Scope,
    site_id: int | None = None,
    kind: str | None = None,
    search: str | None = None,
    limit: int = 500,
    offset: int = 0,
) -> list[Device]:
    q = select(Device).order_by(Device.site_id, Device.hostname)
    if scope is not None:
        q = q.where(col(Device.site_id).in_(scope))
    if site_id is not None:
        q = q.where(Device.site_id == site_id)
    if kind:
        q = q.where(Device.kind == kind)
    if search:
        q = q.where(col(Device.hostname).ilike(f"%{search}%"))
    return list(session.exec(q.offset(offset).limit(limit)).all())


def get_device(session: Session, device_id: int, *, scope: Scope) -> Device:
    device = session.get(Device, device_id)
    # Out of scope answers exactly like missing: a scoped user learns nothing of other sites.
    if device is None or (scope is not None and device.site_id not in scope):
        raise NotFound("no device %(device_id)s", device_id=device_id)
    return device


def device_facts(session: Session, device_id: int) -> dict[str, Any]:
    rows = session.exec(select(DeviceSection).where(DeviceSection.device_id == device_id)).all()
    return {row.section: row.data for row in rows}


def device_results(session: Session, device_id: int) -> list[DeviceResult]:
    q = (
        select(DeviceResult)
        .where(DeviceResult.device_id == device_id)
        .order_by(DeviceResult.check_id, DeviceResult.target)
    )
    return list(session.exec(q).all())


def device_reports(session: Session, device_id: int, *, limit: int = 100) -> list[RawReport]:
    q = (
        select(RawReport)
        .where(RawReport.device_id == device_id)
        .order_by(col(RawReport.received_at).desc())
        .limit(limit)
    )
    return list(session.exec(q).all())


def site_codes(session: Session) -> dict[int, str]:
    return {s.id or 0: s.code for s in session.exec(select(Site)).all()}


def find_device(session: Session, ref: str) -> Device:
    """A device by id, or by hostname when exactly one device has it (for the command line)."""
    ref = ref.strip()
    if ref.isdigit():
        device = session.get(Device, int(ref))
        if device is not None:
            return device
    found = session.exec(select(Device).where(Device.hostname == ref).order_by(Device.id)).all()
    if not found:
        raise NotFound("no device with id or hostname %(ref)s", ref=repr(ref))
    if len(found) > 1:
        ids = ", ".join(str(d.id) for d in found)
        raise ServiceError(
            "%(n)s devices are named %(ref)s (ids %(ids)s); give the id", n=len(found), ref=repr(ref), ids=ids
        )
    return found[0]
