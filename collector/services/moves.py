"""The one move service: devices change site, and one device is folded into another.

Used by a direct move (web, API, ``wardwatch device move``), by a merged identity conflict or an
approved move request (``collector.services.conflicts``) and by merging two sites
(``collector.services.site_admin``).

What follows a device is read from the tables themselves, so a table added later follows too: every
table with one foreign key to ``device`` and one to ``site`` keeps the device's site on its rows
(findings, certificates...), and those rows move with it. Tables in ``STAY_WITH_SITE`` describe a
site rather than a device (a LAN scan is of the commune's network, whichever PC ran it) and stay.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, PrimaryKeyConstraint, Table, UniqueConstraint, delete, func, update
from sqlmodel import Session, col, select

from collector.models import metadata
from collector.models.assets import Asset, DeviceScore
from collector.models.certificates import DeviceCertificate, SignedDocumentRow, TlsEndpointRow
from collector.models.core import Agent, Device, DeviceKind, DeviceResult, DeviceSection, Site
from collector.models.findings import Finding, FindingEvent, FindingEventKind, FindingStatus
from collector.models.identity import IdentityConflict
from collector.models.lan import LanHost, LanScan
from collector.models.types import utcnow
from collector.services import audit, snapshots
from collector.services.errors import Conflict

# Rows that belong to the site's network or to a claim, not to one device's history.
STAY_WITH_SITE = frozenset({LanScan.__tablename__, LanHost.__tablename__, IdentityConflict.__tablename__})
# A device's current state, derived from its latest report: when two devices are folded into one, the
# state of the one that reports now (the source) replaces the other's.
CURRENT_STATE = frozenset(
    str(m.__tablename__)
    for m in (DeviceSection, DeviceResult, DeviceCertificate, TlsEndpointRow, SignedDocumentRow, DeviceScore)
) | {"device_score_current"}  # the ranking row of the score (collector/models/ranking.py)
# What people entered about the device (asset tag, purchase date): the surviving device's record wins.
KEPT_BY_TARGET = frozenset({str(Asset.__tablename__)})
# Derived from the device's latest report like CURRENT_STATE, without a unique key to say so.
DERIVED_STATE = frozenset({"vuln_hit"})
CHUNK = 500  # ids per IN (...): well under SQLite's bound-parameter limit


class AlreadyThere(Conflict):
    pass


class PolledFromItsSite(Conflict):
    """A network device belongs to the site of the agent that polls it."""


def foreign_keys_to(table: Table, target: str) -> list[Column[Any]]:
    return [fk.parent for fk in table.foreign_keys if fk.column.table.name == target]


def device_following_tables() -> list[tuple[Table, Column[Any], Column[Any]]]:
    """(table, device column, site column) of every table whose rows follow their device's site."""
    out = []
    for table in metadata.sorted_tables:
        if table.name in STAY_WITH_SITE or table.name == Device.__tablename__:
            continue
        devices, sites = foreign_keys_to(table, "device"), foreign_keys_to(table, "site")
        if len(devices) == 1 and len(sites) == 1:
            out.append((table, devices[0], sites[0]))
    return out


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for i in range(0, len(ids), CHUNK):
        yield list(ids[i : i + CHUNK])


def _codes(session: Session, ids: Iterable[int]) -> dict[int, str]:
    rows = session.exec(select(Site.id, Site.code).where(col(Site.id).in_(set(ids)))).all()
    return {i: c for i, c in rows if i is not None}


@dataclass
class MoveResult:
    to_site: str
    moved: list[int] = field(default_factory=list)  # device ids
    agents: list[str] = field(default_factory=list)  # agents that moved with their PC


def move_devices(
    session: Session,
    *,
    device_ids: Sequence[int],
    to_site: Site,
    actor: str,
    reason: str,
    address: str | None = None,
    move_agents: bool = False,
) -> MoveResult:
    """Move devices, their history and their findings to ``to_site``; one audit row per device.

    ``move_agents``: the agent of a moved PC moves with it (a direct move), so that its next report
    lands in the new site; its other devices left behind lose it (and may be adopted or claimed there).
    """
    session.flush()
    devices = session.exec(select(Device).where(col(Device.id).in_(list(device_ids)))).all()
    moving = [d for d in devices if d.site_id != to_site.id]
    result = MoveResult(to_site=to_site.code)
    if not moving:
        return result
    ids = [d.id for d in moving if d.id is not None]
    for chunk in _chunks(ids):
        for table, device_col, site_col in device_following_tables():
            session.exec(update(table).where(device_col.in_(chunk)).values({site_col.name: to_site.id}))
        session.exec(
            update(IdentityConflict)
            .where(col(IdentityConflict.device_id).in_(chunk), IdentityConflict.status == "open")
            .values(device_site_id=to_site.id)
        )
    codes = _codes(session, {d.site_id for d in moving} | {to_site.id or 0})
    for device in moving:
        from_code, from_id = codes.get(device.site_id), device.site_id
        device.site_id = to_site.id or 0
        session.add(device)
        audit.record(
            session,
            actor=actor,
            action="device.move",
            target=f"device:{device.id}",
            address=address,
            detail={"hostname": device.hostname, "from": from_code, "to": to_site.code, "reason": reason},
            sites=[from_id, to_site.id],
        )
        result.moved.append(device.id or 0)
    if move_agents:
        result.agents = _move_agents(session, moving, to_site=to_site, actor=actor, address=address)
    session.flush()
    # Today's figures of both sides change: the overview reads them from the daily snapshots.
    for site_id in sorted({from_id for from_id in codes if from_id != to_site.id} | {to_site.id or 0}):
        snapshots.record_site(session, site_id=site_id)
    return result


def _move_agents(
    session: Session, devices: list[Device], *, to_site: Site, actor: str, address: str | None
) -> list[str]:
    moved = []
    for agent_id in sorted({d.agent_id for d in devices if d.kind == DeviceKind.HOST and d.agent_id}):
        agent = session.get(Agent, agent_id)
        if agent is None or agent.site_id == to_site.id:
            continue
        from_code, from_id = _codes(session, [agent.site_id]).get(agent.site_id), agent.site_id
        agent.site_id = to_site.id or 0
        session.add(agent)
        session.flush()
        session.exec(
            update(Device)
            .where(col(Device.agent_id) == agent_id, col(Device.site_id) != to_site.id)
            .values(agent_id=None)
        )
        audit.record(
            session,
            actor=actor,
            action="agent.move",
            target=agent_id,
            address=address,
            detail={"hostname": agent.hostname, "from": from_code, "to": to_site.code},
            sites=[from_id, to_site.id],
        )
        moved.append(agent_id)
    return moved


def move_device(
    session: Session,
    *,
    device: Device,
    to_site: Site,
    actor: str,
    reason: str = "moved by an administrator",
    address: str | None = None,
) -> MoveResult:
    """An administrator moves one device (and the agent on that PC) to another site."""
    if device.site_id == to_site.id:
        raise AlreadyThere(f"device {device.hostname} is already in site {to_site.code}")
    if device.kind == DeviceKind.NETWORK_DEVICE and device.agent_id:
        poller = session.get(Agent, device.agent_id)
        if poller is not None and poller.revoked_at is None and poller.site_id != to_site.id:
            raise PolledFromItsSite(
                f"network device {device.hostname} is polled by agent {poller.hostname or poller.id} of "
                "its site, and a network device belongs to its poller's site: move the poller's PC or "
                "revoke its key first"
            )
    return move_devices(
        session,
        device_ids=[device.id or 0],
        to_site=to_site,
        actor=actor,
        reason=reason,
        address=address,
        move_agents=True,
    )


def fold_device(session: Session, *, source: Device, target: Device) -> None:
    """Fold ``source`` into ``target`` (same site): target keeps its id, asset record and finding
    history, takes source's reports and current state, and source is deleted."""
    if source.site_id != target.site_id:
        raise Conflict("a device is folded into another of the same site only; move it first")
    session.flush()
    _fold_findings(session, source=source, target=target)
    for table in metadata.sorted_tables:
        if table.name == Finding.__tablename__:
            continue
        for column in foreign_keys_to(table, "device"):
            _repoint(session, table, column, source=source.id or 0, target=target.id or 0)
    target.hostname = source.hostname
    target.machine_id = source.machine_id or target.machine_id
    target.serial = source.serial or target.serial
    target.mac = source.mac or target.mac
    target.first_seen_at = min(target.first_seen_at, source.first_seen_at)
    if source.last_report_at and (
        target.last_report_at is None or source.last_report_at > target.last_report_at
    ):
        target.last_report_at = source.last_report_at
    target.last_full_report_id = source.last_full_report_id or target.last_full_report_id
    if target.clone_of_id in (source.id, target.id):
        target.clone_of_id = None
    session.add(target)
    session.flush()
    session.exec(delete(Device).where(col(Device.id) == source.id))
    session.expunge(source)
    session.expire_all()


def _replaced_by_source(table: Table, column: Column[Any]) -> bool:
    """A table of the device's current state: the folded (reporting) device's rows replace the
    survivor's. Besides CURRENT_STATE, every table whose unique key includes the device (one row per
    device, or per device and item: quarantine, software, addresses, vulnerability state...) is such
    state, and two devices' rows could not both be kept under it."""
    if table.name in CURRENT_STATE or table.name in DERIVED_STATE:
        return True
    if table.name in KEPT_BY_TARGET or table.name == Finding.__tablename__:
        return False
    keys = [c.columns for c in table.constraints if isinstance(c, PrimaryKeyConstraint | UniqueConstraint)]
    keys += [i.columns for i in table.indexes if i.unique]
    return any(column.name in [c.name for c in cols] for cols in keys)


def _repoint(session: Session, table: Table, column: Column[Any], *, source: int, target: int) -> None:
    if _replaced_by_source(table, column):
        session.exec(delete(table).where(column == target))
    elif table.name in KEPT_BY_TARGET:
        kept = session.exec(select(func.count()).select_from(table).where(column == target)).one()
        if kept:
            session.exec(delete(table).where(column == source))
            return
    if table.name == "device":
        session.exec(
            update(table).where(column == source, table.c.id != target).values({column.name: target})
        )
        return
    session.exec(update(table).where(column == source).values({column.name: target}))


def _fold_findings(session: Session, *, source: Device, target: Device) -> None:
    """One finding per check and target: the source's, newer, carries on the target's with both histories.

    The source reports the PC now: a target finding the source judged passing, or does not report,
    is resolved as the findings hook would on a full report (error, skipped, not applicable: kept).
    """
    theirs = {
        (f.check_id, f.target): f for f in session.exec(select(Finding).where(Finding.device_id == target.id))
    }
    results = dict(
        ((check, tgt), status)
        for check, tgt, status in session.exec(
            select(DeviceResult.check_id, DeviceResult.target, DeviceResult.status).where(
                DeviceResult.device_id == source.id
            )
        ).all()
    )
    ours = set()
    for finding in session.exec(select(Finding).where(Finding.device_id == source.id)).all():
        ours.add((finding.check_id, finding.target))
        kept = theirs.get((finding.check_id, finding.target))
        if kept is None:
            finding.device_id, finding.site_id = target.id or 0, target.site_id
            session.add(finding)
            continue
        session.exec(
            update(FindingEvent).where(col(FindingEvent.finding_id) == finding.id).values(finding_id=kept.id)
        )
        if finding.last_seen_at >= kept.last_seen_at:
            for name in (
                "status",
                "severity",
                "evidence",
                "observed",
                "known",
                "last_seen_at",
                "opened_at",
                "due_at",
                "resolved_at",
                "accepted_by",
                "accepted_at",
                "accepted_until",
                "accepted_reason",
            ):
                setattr(kept, name, getattr(finding, name))
        kept.first_seen_at = min(kept.first_seen_at, finding.first_seen_at)
        kept.reopen_count += finding.reopen_count
        session.add(kept)
        session.flush()
        session.delete(finding)
    if results:
        now = utcnow()
        for key, finding in theirs.items():
            status = results.get(key)
            if key in ours or finding.status == FindingStatus.RESOLVED or status not in (None, "pass"):
                continue
            finding.status, finding.resolved_at = FindingStatus.RESOLVED, now
            session.add(finding)
            session.flush()
            session.add(
                FindingEvent(
                    finding_id=finding.id or 0,
                    at=now,
                    kind=FindingEventKind.RESOLVED if status == "pass" else FindingEventKind.GONE,
                    status=finding.status,
                    severity=finding.severity,
                    evidence=finding.evidence,
                    note="devices merged: the agent that now reports this PC does not find it",
                )
            )
    session.flush()
