"""Findings and compliance: keyword-only functions, no HTTP.

- ``apply_results`` (called by the ingest hook) opens a finding for a failing result, resolves it on a
  pass, reopens it on a later failure keeping its history, and records each change of evidence.
- ``accept_risk`` records a user's risk acceptance with a reason and an expiry; an accepted finding
  stays accepted until then, and counts as open again afterwards.
- ``device_compliance`` / ``site_compliance`` / ``sites_compliance``: passed / (passed + failed +
  unknown) over the devices' latest results: a check that could not observe (unknown) counts as not
  passed; not_applicable, skipped and error are left out.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any

import yaml
from sqlalchemy import and_, func, insert, or_, update
from sqlmodel import Session, col, select

from checks.catalog import load_catalog
from checks.model import CheckDefinition, Severity
from collector.i18n import translator
from collector.models.core import Device, DeviceResult, Site
from collector.models.findings import Finding, FindingEvent, FindingEventKind, FindingStatus
from collector.models.types import utcnow
from collector.services import unknown_checks
from collector.services.errors import Conflict, NotFound, ServiceError
from collector.services.notify_events import notify_finding
from collector.services.unknown_checks import UNKNOWN_CHECKS_ID
from inventory.report import CheckResult, CheckStatus

Scope = Collection[int] | None  # site ids a user may see; None: every site

SEVERITIES = tuple(s.value for s in Severity)
UNKNOWN_CHECK_SEVERITY = "medium"  # a check the catalog does not know: neither ignored nor alarming
MAX_ACCEPT_DAYS = 366
# Findings of these catalog modules record an event (a disk swapped), not a state that a later report
# re-judges: no report closes them as "gone"; a user resolves them or accepts the risk.
EVENT_MODULES = frozenset({"changes"})


# ---- what the checks are ---------------------------------------------------------------------------


@cache
def collector_checks() -> dict[str, CheckDefinition]:
    """Checks the collector judges itself (known vulnerabilities): never run by an agent."""
    text = (resources.files("collector.data") / "collector_checks.yaml").read_text(encoding="utf-8")
    return {c.id: c for c in (CheckDefinition.model_validate(raw) for raw in yaml.safe_load(text))}


@cache
def collector_modules() -> frozenset[str]:
    """Modules whose findings no agent report speaks for (a report never closes them as gone)."""
    return frozenset(c.module for c in collector_checks().values())


def definitions() -> dict[str, CheckDefinition]:
    """Every check a finding can be about: the agent catalog and the collector's own."""
    return {**load_catalog(), **collector_checks()}


# ---- opening, resolving, reopening ---------------------------------------------------------------


def result_severity(result: CheckResult, check: CheckDefinition | None) -> str:
    """An observed "severity" in the result overrides the catalog's (a certificate 3 days from expiry)."""
    observed = (result.observed or {}).get("severity")
    if isinstance(observed, str) and observed.lower() in SEVERITIES:
        return observed.lower()
    return check.severity.value if check else UNKNOWN_CHECK_SEVERITY


def due_date(
    opened_at: datetime, severity: str, due_days: dict[str, int], result: CheckResult | None = None
) -> datetime | None:
    """The severity policy's date; a result may bring it forward with an observed ``due_before``
    (ISO date-time: a KEV entry's due date), never push it back."""
    days = due_days.get(severity)
    due = opened_at + timedelta(days=days) if days is not None else None
    before = (result.observed or {}).get("due_before") if result is not None else None
    if isinstance(before, str):
        try:
            limit = datetime.fromisoformat(before)
        except ValueError:
            limit = None
        if limit is not None and limit.tzinfo is not None and (due is None or limit < due):
            due = limit
    return due


def _event(
    session: Session,
    finding: Finding,
    kind: FindingEventKind,
    at: datetime,
    *,
    report_id: str | None = None,
    actor: str | None = None,
    note: str | None = None,
) -> None:
    values = {
        "finding_id": finding.id or 0,
        "at": at,
        "kind": kind.value,
        "status": str(finding.status),
        "severity": finding.severity,
        "evidence": finding.evidence,
        "actor": actor,
        "report_id": report_id,
        "note": note,
    }
    rows = session.info.get(_EVENT_ROWS)
    if rows is not None:
        rows.append(values)  # ``apply_results`` inserts them together at its end
        return
    session.add(FindingEvent(**values))


_EVENT_ROWS = "wardwatch.finding_event_rows"


def apply_results(
    session: Session,
    *,
    device: Device,
    results: Iterable[CheckResult],
    due_days: dict[str, int],
    report_id: str | None = None,
    now: datetime | None = None,
    covered_modules: Collection[str] | None = None,
    gone: Collection[tuple[str, str]] = (),
    unchanged: Collection[tuple[str, str]] = (),
) -> None:
    """Update the device's findings from one report's results (``_apply_results``). The events it
    records (a report's findings resolved, opened, reopened...) are taken as rows (the values at the
    time of the change, as before) and inserted in one statement at the end, not as an ORM object
    each (the model's construction and the unit of work were most of a changed result's cost)."""
    outer = _EVENT_ROWS not in session.info  # inside another apply_results, its end writes them
    rows: list[dict[str, Any]] = session.info.setdefault(_EVENT_ROWS, [])
    try:
        _apply_results(
            session,
            device=device,
            results=results,
            due_days=due_days,
            report_id=report_id,
            now=now,
            covered_modules=covered_modules,
            gone=gone,
            unchanged=unchanged,
        )
    finally:
        if outer:
            session.info.pop(_EVENT_ROWS, None)
    if outer and rows:
        # Every finding they name is in the database already: a new one was flushed for its id.
        session.execute(insert(FindingEvent.__table__), rows)  # type: ignore[attr-defined]


def _apply_results(
    session: Session,
    *,
    device: Device,
    results: Iterable[CheckResult],
    due_days: dict[str, int],
    report_id: str | None,
    now: datetime | None,
    covered_modules: Collection[str] | None,
    gone: Collection[tuple[str, str]],
    unchanged: Collection[tuple[str, str]],
) -> None:
    """Update the device's findings from one report's results.

    ``covered_modules``: the agent modules this report speaks for (None: every module). An open finding
    of a covered module whose check is absent from the report is closed as "gone" (a removed disk, a
    certificate no longer installed); findings of other modules are left alone. ``gone``: (check,
    target) keys a delta names as no longer reported, closed the same way whatever their module.
    ``unchanged``: keys whose result this report left as it was stored; such a result whose finding
    already says what it says (an open finding of a failure, none or a resolved one of a pass) costs
    one bulk update of ``last_seen_at``, not a finding object.
    """
    now = now or utcnow()
    catalog = definitions()
    results = list(results)
    # The device's findings as plain rows first: only those this report may change become objects.
    rows = {
        (check_id, target): (finding_id, status, known)
        for finding_id, check_id, target, status, known in session.execute(
            select(Finding.id, Finding.check_id, Finding.target, Finding.status, Finding.known).where(
                Finding.device_id == device.id
            )
        ).all()
    }
    seen: set[tuple[str, str]] = set()
    still_open: list[int] = []  # open findings of failures reported again unchanged
    wanted: set[int] = set()
    todo: list[CheckResult] = []
    for result in results:
        key = (result.check_id, result.target)
        if key in seen:
            continue
        seen.add(key)
        if result.check_id not in catalog:
            continue  # unknown checks share one finding per device (below)
        row = rows.get(key)
        if key in unchanged:
            if result.status == CheckStatus.FAIL and row is not None and row[1] == FindingStatus.OPEN:
                still_open.append(row[0])
                continue
            if result.status != CheckStatus.FAIL and (row is None or row[1] == FindingStatus.RESOLVED):
                continue  # a pass (or no verdict) with nothing open: nothing to do
        todo.append(result)
        if row is not None:
            wanted.add(row[0])
    if covered_modules is not None or seen:
        for key, (finding_id, status, known) in rows.items():
            # What the "gone" rule and the unknown-checks finding below may change (the latter
            # reopens its own finding, whatever its status).
            if key == (UNKNOWN_CHECKS_ID, "") or (
                status != FindingStatus.RESOLVED and (key not in seen or not known)
            ):
                wanted.add(finding_id)
    if still_open:
        table = Finding.__table__  # type: ignore[attr-defined]
        session.execute(
            update(table).where(table.c.id.in_(still_open)).values(last_seen_at=now, site_id=device.site_id)
        )
    existing = (
        {
            (f.check_id, f.target): f
            for f in session.exec(select(Finding).where(col(Finding.id).in_(sorted(wanted)))).all()
        }
        if wanted
        else {}
    )
    seen_all = seen
    seen = set()
    # Findings this report opens: inserted in one flush (one round trip), then their events.
    opened: list[Finding] = []
    for result in todo:
        key = (result.check_id, result.target)
        seen.add(key)
        check = catalog.get(result.check_id)
        if check is None:
            continue
        finding = existing.get(key)
        if result.status == CheckStatus.FAIL:
            _failing(session, device, finding, result, check, due_days, report_id, now, opened)
        elif (
            result.status == CheckStatus.PASS
            and finding is not None
            and finding.status != FindingStatus.RESOLVED
        ):
            finding.status = FindingStatus.RESOLVED
            finding.resolved_at = now
            finding.last_seen_at = now
            finding.evidence = result.evidence
            finding.evidence_message = result.message.model_dump() if result.message else None
            session.add(finding)
            _event(session, finding, FindingEventKind.RESOLVED, now, report_id=report_id)
        # error, unknown, not_applicable, skipped: the check could not judge; the finding stays as it is.
    if opened:
        session.flush()  # their events need the findings' ids
        _opened(session, opened, report_id, now)
    seen = seen_all
    if covered_modules is None and not seen:
        return  # a report without results (heartbeat) speaks for nothing
    _unknown_checks_finding(session, device, existing, due_days, report_id, now)
    for key, finding in existing.items():
        if key in seen or finding.status == FindingStatus.RESOLVED or not finding.known:
            continue
        check = catalog.get(finding.check_id)
        module = check.module if check else None
        if module in EVENT_MODULES:
            continue
        if covered_modules is None and module in collector_modules():
            continue  # judged by the collector, not by the agent's report
        if covered_modules is None or (module is not None and module in covered_modules) or key in gone:
            finding.status = FindingStatus.RESOLVED
            finding.resolved_at = now
            session.add(finding)
            _event(
                session, finding, FindingEventKind.GONE, now, report_id=report_id, note="no longer reported"
            )


def _unknown_checks_finding(
    session: Session,
    device: Device,
    existing: dict[tuple[str, str], Finding],
    due_days: dict[str, int],
    report_id: str | None,
    now: datetime,
) -> None:
    """One finding per device for every failing result of a check the catalog does not know, from the
    device's stored results (a delta leaves other modules' results in place). Findings opened per
    unknown id before this rule are closed: the shared finding now speaks for them."""
    # The device's failing results, the known checks left out here: a NOT IN of the whole catalog
    # (hundreds of bound ids) cost more to build and send than the few failing rows it filtered.
    known = definitions()
    failing = [
        (c, t)
        for c, t in session.exec(
            select(DeviceResult.check_id, DeviceResult.target).where(
                DeviceResult.device_id == device.id, DeviceResult.status == CheckStatus.FAIL.value
            )
        ).all()
        if c not in known
    ]
    key = (UNKNOWN_CHECKS_ID, "")
    for other_key, old in existing.items():
        if other_key != key and not old.known and old.status != FindingStatus.RESOLVED:
            old.status, old.resolved_at = FindingStatus.RESOLVED, now
            session.add(old)
            note = f"replaced by {UNKNOWN_CHECKS_ID}"
            _event(session, old, FindingEventKind.GONE, now, report_id=report_id, note=note)
    finding = existing.get(key)
    if failing:
        result = CheckResult(
            check_id=UNKNOWN_CHECKS_ID,
            status=CheckStatus.FAIL,
            evidence=unknown_checks.evidence(failing)[:4000],
            observed={"count": len(failing)},
        )
        _failing(session, device, finding, result, None, due_days, report_id, now)
    elif finding is not None and finding.status != FindingStatus.RESOLVED:
        finding.status, finding.resolved_at, finding.last_seen_at = FindingStatus.RESOLVED, now, now
        finding.evidence = ""
        session.add(finding)
        _event(session, finding, FindingEventKind.RESOLVED, now, report_id=report_id)


def _opened(session: Session, findings: list[Finding], report_id: str | None, now: datetime) -> None:
    for finding in findings:
        _event(session, finding, FindingEventKind.OPENED, now, report_id=report_id)
        notify_finding(session, finding, FindingEventKind.OPENED)


def _failing(
    session: Session,
    device: Device,
    finding: Finding | None,
    result: CheckResult,
    check: CheckDefinition | None,
    due_days: dict[str, int],
    report_id: str | None,
    now: datetime,
    opened: list[Finding] | None = None,
) -> None:
    severity = result_severity(result, check)
    if finding is None:
        finding = Finding(
            device_id=device.id or 0,
            site_id=device.site_id,
            check_id=result.check_id,
            target=result.target,
            known=check is not None,
            severity=severity,
            status=FindingStatus.OPEN,
            evidence=result.evidence,
            evidence_message=result.message.model_dump() if result.message else None,
            observed=result.observed or None,
            first_seen_at=now,
            last_seen_at=now,
            opened_at=now,
            due_at=due_date(now, severity, due_days, result),
        )
        session.add(finding)
        if opened is not None:
            opened.append(finding)  # the caller flushes them together, then records their events
            return
        session.flush()  # the event needs the finding's id
        _opened(session, [finding], report_id, now)
        return
    finding.last_seen_at = now
    finding.known = check is not None
    finding.site_id = device.site_id
    finding.observed = result.observed or None
    if finding.status == FindingStatus.RESOLVED:
        finding.status = FindingStatus.OPEN
        finding.opened_at = now
        finding.resolved_at = None
        finding.reopen_count += 1
        finding.severity = severity
        finding.due_at = due_date(now, severity, due_days, result)
        finding.evidence = result.evidence
        finding.evidence_message = result.message.model_dump() if result.message else None
        # A new episode starts with no acceptance: the earlier one was about the earlier problem.
        finding.accepted_by = finding.accepted_at = finding.accepted_until = finding.accepted_reason = None
        session.add(finding)
        _event(session, finding, FindingEventKind.REOPENED, now, report_id=report_id)
        notify_finding(session, finding, FindingEventKind.REOPENED)
        return
    if finding.status == FindingStatus.ACCEPTED and finding.accepted_until and finding.accepted_until <= now:
        finding.status = FindingStatus.OPEN
        session.add(finding)
        _event(session, finding, FindingEventKind.EXPIRED, now, report_id=report_id)
    if severity != finding.severity:
        worse = (
            SEVERITIES.index(severity) < SEVERITIES.index(finding.severity)
            if finding.severity in SEVERITIES
            else True
        )
        finding.severity = severity
        new_due = due_date(finding.opened_at, severity, due_days, result)
        # A worse severity brings the due date forward; a milder one never pushes it back.
        if new_due is not None and (finding.due_at is None or new_due < finding.due_at):
            finding.due_at = new_due
        session.add(finding)
        _event(session, finding, FindingEventKind.SEVERITY, now, report_id=report_id)
        if worse:
            notify_finding(session, finding, FindingEventKind.SEVERITY)
    earlier = due_date(finding.opened_at, finding.severity, due_days, result)
    if earlier is not None and finding.due_at is not None and earlier < finding.due_at:
        finding.due_at = earlier  # e.g. a newly listed KEV entry's due date
    if result.evidence != finding.evidence:
        finding.evidence = result.evidence
        finding.evidence_message = result.message.model_dump() if result.message else None
        _event(session, finding, FindingEventKind.EVIDENCE, now, report_id=report_id)
    session.add(finding)


# ---- risk acceptance -------------------------------------------------------------------------------


def accept_risk(
    session: Session,
    *,
    finding_id: int,
    scope: Scope,
    actor: str,
    reason: str,
    until: datetime,
    now: datetime | None = None,
) -> Finding:
    """Accept the risk of an open finding until ``until`` (at most a year ahead), with a reason."""
    now = now or utcnow()
    finding = get_finding(session, finding_id, scope=scope)
    reason = reason.strip()
    if len(reason) < 5:
        raise ServiceError("give a reason for accepting the risk (at least 5 characters)")
    if until.tzinfo is None:
        raise ServiceError("the expiry needs a time zone")
    if until <= now:
        raise ServiceError("the expiry must be in the future")
    if until > now + timedelta(days=MAX_ACCEPT_DAYS):
        raise ServiceError(
            "a risk can be accepted for at most %(max_accept_days)s days", max_accept_days=MAX_ACCEPT_DAYS
        )
    if finding.status == FindingStatus.RESOLVED:
        raise Conflict("this finding is resolved: there is no risk to accept")
    finding.status = FindingStatus.ACCEPTED
    finding.accepted_by, finding.accepted_at = actor, now
    finding.accepted_until, finding.accepted_reason = until, reason
    session.add(finding)
    _event(session, finding, FindingEventKind.ACCEPTED, now, actor=actor, note=reason)
    _record_site(session, finding, now)
    return finding


def _record_site(session: Session, finding: Finding, now: datetime) -> None:
    """The site's stored figures (the overview's open findings) follow a change made by hand."""
    from collector.services import snapshots

    session.flush()
    snapshots.record_site(session, site_id=finding.site_id, now=now)


def resolve_by_user(
    session: Session, *, finding_id: int, scope: Scope, actor: str, note: str, now: datetime | None = None
) -> Finding:
    """Close a finding that records an event (``EVENT_MODULES``): a user checked it and says why.

    A finding of an ordinary check closes when the check passes; resolving it by hand would only
    hide it until the next report, so that is refused.
    """
    now = now or utcnow()
    finding = get_finding(session, finding_id, scope=scope)
    note = note.strip()
    check = load_catalog().get(finding.check_id)
    if check is None or check.module not in EVENT_MODULES:
        raise Conflict("this finding closes by itself when its check passes on the device")
    if len(note) < 5:
        raise ServiceError("say what was checked (at least 5 characters)")
    if finding.status == FindingStatus.RESOLVED:
        raise Conflict("this finding is already resolved")
    finding.status = FindingStatus.RESOLVED
    finding.resolved_at = now
    session.add(finding)
    _event(session, finding, FindingEventKind.RESOLVED, now, actor=actor, note=note[:2000])
    _record_site(session, finding, now)
    return finding


# ---- reading ---------------------------------------------------------------------------------------


def effective_status(finding: Finding, now: datetime | None = None) -> str:
    """Accepted only until the expiry: afterwards the finding counts as open again."""
    now = now or utcnow()
    if finding.status == FindingStatus.ACCEPTED and finding.accepted_until and finding.accepted_until <= now:
        return FindingStatus.OPEN.value
    return finding.status


@dataclass
class FindingRow:
    finding: Finding
    status: str  # effective status
    site_code: str
    hostname: str
    check: CheckDefinition | None
    overdue: bool

    def title(self, lang: str) -> str:
        return translator(lang)(self.check.title) if self.check else self.finding.check_id


def get_finding(session: Session, finding_id: int, *, scope: Scope) -> Finding:
    finding = session.get(Finding, finding_id)
    # Out of scope answers exactly like missing: a scoped user learns nothing of other sites.
    if finding is None or (scope is not None and finding.site_id not in scope):
        raise NotFound("no finding %(finding_id)s", finding_id=finding_id)
    return finding


def finding_row(session: Session, finding: Finding, *, now: datetime | None = None) -> FindingRow:
    now = now or utcnow()
    device = session.get(Device, finding.device_id)
    site = session.get(Site, finding.site_id)
    status = effective_status(finding, now)
    return FindingRow(
        finding=finding,
        status=status,
        site_code=site.code if site else "",
        hostname=device.hostname if device else "",
        check=definitions().get(finding.check_id),
        overdue=status == FindingStatus.OPEN and finding.due_at is not None and finding.due_at < now,
    )


def finding_history(session: Session, finding_id: int) -> list[FindingEvent]:
    q = select(FindingEvent).where(FindingEvent.finding_id == finding_id)
    # Newest first, in the order the events were recorded.
    return list(session.exec(q.order_by(col(FindingEvent.id).desc())).all())


def list_findings(
    session: Session,
    *,
    scope: Scope,
    site_id: int | None = None,
    device_id: int | None = None,
    severity: str | None = None,
    status: str | None = None,
    check_id: str | None = None,
    limit: int = 500,
    offset: int = 0,
    now: datetime | None = None,
) -> list[FindingRow]:
    """Findings visible in ``scope``, most severe and oldest first; ``status`` is the effective status."""
    now = now or utcnow()
    q = (
        select(Finding, Device.hostname, Site.code)
        .join(Device, col(Device.id) == col(Finding.device_id))
        .join(Site, col(Site.id) == col(Finding.site_id))
    )
    if scope is not None:
        q = q.where(col(Finding.site_id).in_(scope))
    if site_id is not None:
        q = q.where(Finding.site_id == site_id)
    if device_id is not None:
        q = q.where(Finding.device_id == device_id)
    if severity:
        if severity not in SEVERITIES:
            raise ServiceError(
                "unknown severity %(severity)s; one of %(choices)s",
                severity=repr(severity),
                choices=", ".join(SEVERITIES),
            )
        q = q.where(Finding.severity == severity)
    if check_id:
        q = q.where(Finding.check_id == check_id)
    if status:
        expired = and_(Finding.status == FindingStatus.ACCEPTED, col(Finding.accepted_until) <= now)
        if status == FindingStatus.OPEN:
            q = q.where(or_(Finding.status == FindingStatus.OPEN, expired))
        elif status == FindingStatus.ACCEPTED:
            q = q.where(Finding.status == FindingStatus.ACCEPTED, col(Finding.accepted_until) > now)
        elif status == FindingStatus.RESOLVED:
            q = q.where(Finding.status == FindingStatus.RESOLVED)
        else:
            raise ServiceError(
                "unknown status %(status)s; one of open, accepted, resolved", status=repr(status)
            )
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    rows = session.exec(q.order_by(col(Finding.first_seen_at), col(Finding.id))).all()
    catalog = definitions()
    out = []
    for finding, hostname, code in rows:
        st = effective_status(finding, now)
        out.append(
            FindingRow(
                finding=finding,
                status=st,
                site_code=code,
                hostname=hostname,
                check=catalog.get(finding.check_id),
                overdue=st == FindingStatus.OPEN and finding.due_at is not None and finding.due_at < now,
            )
        )
    order = {"open": 0, "accepted": 1, "resolved": 2}
    out.sort(key=lambda r: (order.get(r.status, 3), rank.get(r.finding.severity, 9)))
    return out[offset : offset + limit]


def finding_counts(
    session: Session, *, scope: Scope, site_id: int | None = None, device_id: int | None = None
) -> dict[str, int]:
    """Open findings by severity (acceptance expired counts as open)."""
    counts = {s: 0 for s in SEVERITIES}
    for row in list_findings(
        session, scope=scope, site_id=site_id, device_id=device_id, status="open", limit=10**6
    ):
        counts[row.finding.severity] = counts.get(row.finding.severity, 0) + 1
    return counts


# ---- compliance ------------------------------------------------------------------------------------


@dataclass
class Compliance:
    passed: int = 0
    failed: int = 0
    # Could not observe (no privilege, unreadable state): counted as not passed.
    unknown: int = 0
    # not_applicable, skipped and error results: shown, never counted in the score.
    other: int = 0
    devices: int = 0
    per_device: dict[int, Compliance] = field(default_factory=dict)

    @property
    def judged(self) -> int:
        return self.passed + self.failed + self.unknown

    @property
    def score(self) -> float | None:
        """passed / (passed + failed + unknown), or None when nothing was judged."""
        return self.passed / self.judged if self.judged else None

    @property
    def percent(self) -> int | None:
        return None if self.score is None else round(self.score * 100)

    def as_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "failed": self.failed,
            "unknown": self.unknown,
            "not_counted": self.other,
            "score": None if self.score is None else round(self.score, 4),
            "percent": self.percent,
        }


def _tally(session: Session, where: Any) -> dict[int, Compliance]:
    q = (
        select(DeviceResult.device_id, DeviceResult.status, func.count())
        .join(Device, col(Device.id) == col(DeviceResult.device_id))
        .where(where)
        .group_by(col(DeviceResult.device_id), col(DeviceResult.status))
    )
    out: dict[int, Compliance] = {}
    for device_id, status, n in session.exec(q).all():
        c = out.setdefault(device_id, Compliance(devices=1))
        if status == CheckStatus.PASS:
            c.passed += n
        elif status == CheckStatus.FAIL:
            c.failed += n
        elif status == CheckStatus.UNKNOWN:
            c.unknown += n
        else:
            c.other += n
    return out


def device_compliance(session: Session, *, device_id: int) -> Compliance:
    """Compliance score of one device over its latest results."""
    return _tally(session, col(Device.id) == device_id).get(device_id, Compliance(devices=1))


def _sum(parts: dict[int, Compliance]) -> Compliance:
    total = Compliance(per_device=parts)
    for c in parts.values():
        total.passed += c.passed
        total.failed += c.failed
        total.unknown += c.unknown
        total.other += c.other
        total.devices += 1
    return total


def site_compliance(session: Session, *, site_id: int) -> Compliance:
    """Compliance of a site: its devices' results added up (``per_device`` holds each device's)."""
    return _sum(_tally(session, col(Device.site_id) == site_id))


def sites_compliance(session: Session, *, scope: Scope) -> dict[int, Compliance]:
    """Compliance of every site in ``scope``, by site id."""
    q = select(Device.id, Device.site_id)
    if scope is not None:
        q = q.where(col(Device.site_id).in_(scope))
    site_of = dict(session.exec(q).all())
    where = col(Device.site_id).in_(scope) if scope is not None else col(Device.id).is_not(None)
    per_device = _tally(session, where)
    grouped: dict[int, dict[int, Compliance]] = {}
    for device_id, c in per_device.items():
        grouped.setdefault(site_of[device_id], {})[device_id] = c
    return {site_id: _sum(parts) for site_id, parts in grouped.items()}
