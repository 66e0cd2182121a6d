"""Change history of devices: recorded at ingest, read per device and per site (keyword-only, no HTTP).

``record_changes`` turns the sections a report changed into compact ``ChangeEvent`` rows, lets the
catalog's ``change.*`` checks judge them (a disk swapped, memory removed, a remote-access tool
installed) and opens a finding for each suspicious one through the findings mechanism. A report
with a very long list of changes (a reinstalled PC) stores the first ``MAX_EVENTS_PER_REPORT`` and
one row that counts the rest, so storage stays bounded.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from checks.catalog import load_catalog
from checks.runner import run_check
from collector.models.core import Device, DeviceKind, Site
from collector.models.history import ChangeCategory, ChangeEvent
from collector.models.types import utcnow
from collector.services.errors import ServiceError
from collector.services.history_diff import Change, section_changes
from inventory.facts import Facts
from inventory.report import CheckResult, CheckStatus

log = logging.getLogger(__name__)

Scope = Collection[int] | None
MAX_EVENTS_PER_REPORT = 200
DISK_CHECK, MEMORY_CHECK, REMOTE_CHECK = (
    "change.disk_serial",
    "change.ram_decreased",
    "change.remote_access_tool",
)


# ---- recording ---------------------------------------------------------------------------------


def record_changes(
    session: Session,
    *,
    device: Device,
    report_id: str,
    at: datetime,
    previous: dict[str, Any],
    changed: dict[str, Any],
    due_days: dict[str, int],
) -> list[ChangeEvent]:
    """Store what changed in the sections present in both ``previous`` and ``changed``."""
    changes: list[Change] = []
    for name in sorted(set(previous) & set(changed)):
        try:
            changes += section_changes(name, previous[name], changed[name])
        except Exception:  # one odd stored value must not cost the report
            log.exception("comparing section %s of device %s failed", name, device.id)
    if not changes:
        return []
    verdicts = _judge(device, previous, changed) if device.kind == DeviceKind.HOST else []
    events = [_event(device, report_id, at, c) for c in changes[:MAX_EVENTS_PER_REPORT]]
    if len(changes) > MAX_EVENTS_PER_REPORT:
        rest = len(changes) - MAX_EVENTS_PER_REPORT
        events.append(
            _event(
                device, report_id, at, Change(ChangeCategory.SOFTWARE, "more", "truncated", after=str(rest))
            )
        )
    failed = [v for v in verdicts if v.status == CheckStatus.FAIL]
    for v in failed:
        for e in events:
            if _judges(v, e):
                e.suspicious = v.check_id
    session.add_all(events)
    if failed:
        from collector.services.findings import apply_results

        # covered_modules=(): a change finding is an event; no later report closes it as "gone".
        apply_results(
            session, device=device, results=failed, due_days=due_days, report_id=report_id, covered_modules=()
        )
    _notify_failing_disks(session, device, events)
    return events


def _event(device: Device, report_id: str, at: datetime, c: Change) -> ChangeEvent:
    return ChangeEvent(
        device_id=device.id or 0,
        site_id=device.site_id,
        at=at,
        report_id=report_id,
        category=c.category,
        kind=c.kind,
        action=c.action,
        subject=c.subject,
        before=c.before,
        after=c.after,
        detail=c.detail or None,
    )


def _facts(sections: dict[str, Any], *names: str) -> Facts | None:
    try:
        return Facts.model_validate({n: sections[n] for n in names if n in sections})
    except ValueError:
        return None


def _judge(device: Device, previous: dict[str, Any], changed: dict[str, Any]) -> list[CheckResult]:
    """The catalog's change checks, given the earlier values the agent could not know."""
    catalog = load_catalog()
    out: list[CheckResult] = []
    plans: list[tuple[str, str, dict[str, Any]]] = []
    if "disks" in changed and "disks" in previous:
        before = {
            str(d.get("name")): str(d.get("serial"))
            for d in previous["disks"] or []
            if isinstance(d, dict) and d.get("name") and d.get("serial")
        }
        plans.append((DISK_CHECK, "disks", {"previous": before}))
    if "memory" in changed and "memory" in previous:
        total = (previous["memory"] or {}).get("total_bytes")
        if isinstance(total, int):
            plans.append((MEMORY_CHECK, "memory", {"previous_bytes": total}))
    if "software" in changed and "software" in previous:
        names = [
            str(s.get("name")) for s in previous["software"] or [] if isinstance(s, dict) and s.get("name")
        ]
        plans.append((REMOTE_CHECK, "software", {"previous": names}))
    for check_id, section, params in plans:
        check = catalog.get(check_id)
        facts = _facts(changed, section)
        if check is None or facts is None:
            continue
        judged = check.model_copy(update={"params": {**check.params, **params}})
        out += run_check(judged, facts)
    return out


def _judges(verdict: CheckResult, event: ChangeEvent) -> bool:
    """Whether a failing change check is about this change record."""
    if verdict.check_id == DISK_CHECK:
        return event.kind == "disk_serial" and event.subject == verdict.target
    if verdict.check_id == MEMORY_CHECK:
        return event.kind == "memory" and event.action == "decreased"
    if verdict.check_id == REMOTE_CHECK:
        program = (verdict.observed or {}).get("program")
        return event.kind == "software" and event.action == "installed" and event.subject == program
    return False


def _notify_failing_disks(session: Session, device: Device, events: Iterable[ChangeEvent]) -> None:
    from collector.services.notify_events import emit

    for e in events:
        if e.kind == "disk_health" and e.action == "failing":
            emit(
                session,
                kind="disk.failing",
                site_id=device.site_id,
                payload={
                    "device_id": device.id,
                    "hostname": device.hostname,
                    "disk": e.subject,
                    "reason": e.after,
                },
            )


def first_report_failing_disks(session: Session, *, device: Device, disks: Any) -> None:
    """A device's first disk list with a failing disk is news too (there is no earlier list to diff)."""
    from collector.services.history_diff import disk_failing
    from collector.services.notify_events import emit

    for d in disks or []:
        why = disk_failing(d) if isinstance(d, dict) else None
        if why:
            emit(
                session,
                kind="disk.failing",
                site_id=device.site_id,
                payload={
                    "device_id": device.id,
                    "hostname": device.hostname,
                    "disk": d.get("name"),
                    "reason": why,
                },
            )


# ---- reading -----------------------------------------------------------------------------------


@dataclass
class ChangeRow:
    event: ChangeEvent
    hostname: str
    site_code: str


@dataclass
class ChangePage:
    rows: list[ChangeRow]
    total: int


def _filtered(
    q: Any,
    *,
    since: datetime | None,
    until: datetime | None,
    category: str | None,
    suspicious_only: bool,
) -> Any:
    if category:
        if category not in ChangeCategory.ALL:
            raise ServiceError(
                "unknown category %(category)s; one of %(choices)s",
                category=repr(category),
                choices=", ".join(ChangeCategory.ALL),
            )
        q = q.where(ChangeEvent.category == category)
    if since is not None:
        q = q.where(col(ChangeEvent.at) >= since)
    if until is not None:
        q = q.where(col(ChangeEvent.at) < until)
    if suspicious_only:
        q = q.where(col(ChangeEvent.suspicious).is_not(None))
    return q


def list_changes(
    session: Session,
    *,
    scope: Scope,
    device_id: int | None = None,
    site_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    category: str | None = None,
    suspicious_only: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> ChangePage:
    """Change records newest first, within ``scope`` (the caller resolved the device or site in it)."""
    base = select(ChangeEvent, Device.hostname, Site.code).join(
        Device, col(Device.id) == col(ChangeEvent.device_id)
    )
    base = base.join(Site, col(Site.id) == col(ChangeEvent.site_id))
    count = select(func.count()).select_from(ChangeEvent)
    wheres = []
    if scope is not None:
        wheres.append(col(ChangeEvent.site_id).in_(scope))
    if device_id is not None:
        wheres.append(ChangeEvent.device_id == device_id)
    if site_id is not None:
        wheres.append(ChangeEvent.site_id == site_id)
    for w in wheres:
        base, count = base.where(w), count.where(w)
    opts = {"since": since, "until": until, "category": category, "suspicious_only": suspicious_only}
    base, count = _filtered(base, **opts), _filtered(count, **opts)
    total = session.exec(count).one()
    q = base.order_by(col(ChangeEvent.at).desc(), col(ChangeEvent.id).desc()).offset(offset).limit(limit)
    rows = [ChangeRow(e, hostname, code) for e, hostname, code in session.exec(q).all()]
    return ChangePage(rows=rows, total=int(total))


def change_counts(session: Session, *, site_id: int, since: datetime) -> dict[str, int]:
    """Changes of a site since a time, by category, plus ``suspicious`` and ``total``."""
    q = (
        select(ChangeEvent.category, func.count(), func.count(col(ChangeEvent.suspicious)))
        .where(ChangeEvent.site_id == site_id, col(ChangeEvent.at) >= since)
        .group_by(col(ChangeEvent.category))
    )
    counts = {c: 0 for c in ChangeCategory.ALL}
    counts["suspicious"] = 0
    for category, n, suspicious in session.exec(q).all():
        counts[category] = counts.get(category, 0) + n
        counts["suspicious"] += suspicious
    counts["total"] = sum(counts[c] for c in ChangeCategory.ALL)
    return counts


def week_start(now: datetime | None = None) -> datetime:
    """The default "this week": the last seven days."""
    return (now or utcnow()) - timedelta(days=7)


def prune_history(session: Session, *, older_than: datetime) -> int:
    """Forget change records older than the retention period; returns how many went."""
    result = session.exec(delete(ChangeEvent).where(col(ChangeEvent.at) < older_than))
    return int(result.rowcount or 0)
