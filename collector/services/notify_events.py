"""Notification event types and the outbox: ``emit`` records an event in the caller's transaction.

An event is written with the change it reports (a finding opened, an inspection published), so it
exists exactly when the change committed; the sender (``notify_sender``) turns it into deliveries
later. Adding an event type is one ``EventType`` entry here (its label and how it reads in a
message, with Vietnamese in ``locales/vi/notifications.po``) and an ``emit`` call where it happens.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from collector.i18n import format_date, translator
from collector.models.core import Device, Site
from collector.models.notifications import NotifyEvent
from collector.models.types import utcnow

if TYPE_CHECKING:
    from collector.models.findings import Finding

NOTIFY_SEVERITIES = ("critical", "high")


@dataclass(frozen=True)
class Message:
    subject: str
    lines: list[str]
    path: str  # the page in the console that shows more


def _site(p: dict[str, Any]) -> str:
    return str(p.get("site_code") or "")


def _finding(p: dict[str, Any], lang: str) -> Message:
    from checks.catalog import load_catalog

    _ = translator(lang)
    check = load_catalog().get(str(p.get("check_id")))
    title = _(check.title) if check else str(p.get("check_id"))
    severity = _(str(p.get("severity", "")).capitalize())
    subject = _(
        "[%(site)s] New %(severity)s finding on %(host)s: %(title)s",
        site=_site(p),
        severity=severity,
        host=p.get("hostname", ""),
        title=title,
    )
    lines = [
        _("Check") + f": {title}" + (f" ({p['target']})" if p.get("target") else ""),
        _("Severity") + f": {severity}",
        _("Device") + f": {p.get('hostname', '')}",
        _("Evidence") + f": {p.get('evidence') or '—'}",
    ]
    if p.get("due_at"):
        lines.append(_("Due date") + f": {format_date(datetime.fromisoformat(p['due_at']), lang)}")
    return Message(subject, lines, f"/findings/{p.get('finding_id')}")


def _certificate(p: dict[str, Any], lang: str) -> Message:
    _ = translator(lang)
    name = p.get("name") or p.get("sha256", "")[:16]
    subject = _(
        "[%(site)s] Certificate %(name)s expires in %(days)s days",
        site=_site(p),
        name=name,
        days=p.get("days_left"),
    )
    lines = [
        _("Certificate") + f": {p.get('subject') or name}",
        _("Expires") + f": {format_date(datetime.fromisoformat(p['not_after']), lang)}",
        _("Devices") + f": {', '.join(p.get('hosts') or []) or '—'}",
    ]
    return Message(subject, lines, f"/sites/{_site(p)}/certificates")


def _disk(p: dict[str, Any], lang: str) -> Message:
    _ = translator(lang)
    subject = _(
        "[%(site)s] Failing disk %(disk)s on %(host)s",
        site=_site(p),
        disk=p.get("disk"),
        host=p.get("hostname"),
    )
    lines = [
        _("Device") + f": {p.get('hostname')}",
        _("Disk") + f": {p.get('disk')}",
        _("Reason") + f": {p.get('reason')}",
    ]
    return Message(subject, lines, f"/devices/{p.get('device_id')}")


def _silent(p: dict[str, Any], lang: str) -> Message:
    _ = translator(lang)
    subject = _(
        "[%(site)s] Agent on %(host)s silent for %(days)s days",
        site=_site(p),
        host=p.get("hostname"),
        days=p.get("days"),
    )
    last = p.get("last_seen_at")
    lines = [
        _("Agent") + f": {p.get('hostname') or p.get('agent_id')}",
        _("Last report") + ": " + (format_date(datetime.fromisoformat(last), lang) if last else _("never")),
    ]
    return Message(subject, lines, f"/agents/{p.get('agent_id')}")


def _published(p: dict[str, Any], lang: str) -> Message:
    _ = translator(lang)
    subject = _("[%(site)s] Inspection published: %(title)s", site=_site(p), title=p.get("title"))
    lines = [_("Published by") + f": {p.get('published_by')}", _("Score") + f": {p.get('score')}"]
    return Message(subject, lines, f"/published/{p.get('slug')}")


def _test(p: dict[str, Any], lang: str) -> Message:
    _ = translator(lang)
    return Message(_("wardwatch: test notification"), [_("This subscription works.")], "/notifications")


@dataclass(frozen=True)
class EventType:
    key: str
    label: str  # English; the console translates it
    describe: Callable[[dict[str, Any], str], Message]
    takes_days: bool = False  # the subscription says after how many days (agent silent for N days)
    subscribable: bool = True


EVENT_TYPES: dict[str, EventType] = {
    t.key: t
    for t in (
        EventType("finding.opened", "New critical or high finding", _finding),
        EventType("certificate.expiring", "Certificate expiring in 60, 30 or 7 days", _certificate),
        EventType("disk.failing", "Failing disk", _disk),
        EventType("agent.silent", "Agent silent for N days", _silent, takes_days=True),
        EventType("inspection.published", "Inspection published", _published),
        EventType("test", "Test notification", _test, subscribable=False),
    )
}


def subscribable() -> list[EventType]:
    return [t for t in EVENT_TYPES.values() if t.subscribable]


def describe(kind: str, payload: dict[str, Any], lang: str) -> Message:
    return EVENT_TYPES[kind].describe(payload, lang)


def emit(
    session: Session,
    *,
    kind: str,
    site_id: int,
    payload: dict[str, Any],
    dedupe_key: str | None = None,
    at: datetime | None = None,
) -> bool:
    """Record an event in the caller's transaction; with ``dedupe_key`` only the first one counts.

    Returns whether a new event was recorded.
    """
    if kind not in EVENT_TYPES:
        raise ValueError(f"unknown notification event type {kind!r}")
    # Nothing pending in the session changes a site's code or name: no flush before reading it (the
    # findings of a report notify one by one, and each autoflush was a round trip of its own).
    with session.no_autoflush:
        site = session.get(Site, site_id)
    body = {"site_code": site.code if site else "", "site_name": site.name if site else "", **payload}
    at = at or utcnow()
    if dedupe_key is None:
        session.add(NotifyEvent(kind=kind, site_id=site_id, at=at, payload=body))
        return True
    # Several collector processes scan at once: the unique key decides, without an error.
    bind = session.get_bind()
    from sqlalchemy.dialects import postgresql, sqlite

    insert = postgresql.insert if bind.dialect.name == "postgresql" else sqlite.insert
    table = NotifyEvent.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
    stmt = (
        insert(table)
        .values(kind=kind, site_id=site_id, at=at, payload=body, dedupe_key=dedupe_key)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
    )
    return bool(session.connection().execute(stmt).rowcount)


def notify_finding(session: Session, finding: Finding, change: str) -> None:
    """A finding opened, reopened or raised to critical/high: an event for subscribers."""
    if finding.severity not in NOTIFY_SEVERITIES:
        return
    device = session.get(Device, finding.device_id)
    emit(
        session,
        kind="finding.opened",
        site_id=finding.site_id,
        payload={
            "finding_id": finding.id,
            "device_id": finding.device_id,
            "hostname": device.hostname if device else "",
            "check_id": finding.check_id,
            "target": finding.target,
            "severity": finding.severity,
            "evidence": (finding.evidence or "")[:500],
            "due_at": finding.due_at.isoformat() if finding.due_at else None,
            "change": str(change),
        },
    )
