"""Inspections: create with automatic items pre-filled, sync answers from (offline) clients, score,
sign off, and turn failed items into actions carried over to the site's next inspection."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from collector.localtime import local_date
from collector.localtime import today as local_today
from collector.models.core import Device, DeviceResult, Role, Site, User, UserSite
from collector.models.inspections import (
    Action,
    ActionStatus,
    Inspection,
    InspectionAnswer,
    InspectionPhoto,
    InspectionStatus,
    SyncReceipt,
)
from collector.models.types import utcnow
from collector.services.audit import record
from collector.services.checklists import ChecklistItem, ChecklistTemplate, ItemType, get_template
from collector.services.errors import Conflict, NotFound, ServiceError

PASS_FAIL_VALUES = ("pass", "fail", "na")
MAX_EVIDENCE_DEVICES = 10


def template_of(inspection: Inspection) -> ChecklistTemplate:
    return get_template(inspection.template_key, inspection.template_version)


def get_inspection(session: Session, inspection_id: int, *, scope: Collection[int] | None) -> Inspection:
    insp = session.get(Inspection, inspection_id)
    if insp is None or (scope is not None and insp.site_id not in scope):
        raise NotFound("no inspection %(inspection_id)s", inspection_id=inspection_id)
    return insp


def list_inspections(
    session: Session, *, scope: Collection[int] | None, site_id: int | None = None
) -> list[Inspection]:
    q = select(Inspection).order_by(col(Inspection.created_at).desc())
    if scope is not None:
        q = q.where(col(Inspection.site_id).in_(scope))
    if site_id is not None:
        q = q.where(Inspection.site_id == site_id)
    return list(session.exec(q).all())


# --- automatic items ---------------------------------------------------------------------------


@dataclass
class AutoAnswer:
    value: str | None  # pass, fail, or None when the site has no evidence for it
    evidence: str
    as_of: datetime | None


def auto_answer(session: Session, site_id: int, item: ChecklistItem) -> AutoAnswer:
    assert item.auto is not None
    q = (
        select(DeviceResult, Device)
        .join(Device, col(Device.id) == col(DeviceResult.device_id))
        .where(Device.site_id == site_id, col(DeviceResult.check_id).in_(item.auto.checks))
    )
    if item.auto.devices != "any":
        q = q.where(Device.kind == item.auto.devices)
    failing: dict[str, list[str]] = {}
    passing: set[str] = set()
    as_of: datetime | None = None
    for result, device in session.exec(q).all():
        if result.status == "fail":
            what = f"{result.check_id}" + (f" [{result.target}]" if result.target else "")
            failing.setdefault(device.hostname, []).append(what)
        elif result.status == "pass":
            passing.add(device.hostname)
        else:
            continue
        seen = device.last_report_at or result.updated_at
        as_of = seen if as_of is None or seen < as_of else as_of
    if failing:  # the wording is parsed back by parse_evidence: change both together
        names = sorted(failing)
        shown = "; ".join(f"{n}: {', '.join(failing[n])}" for n in names[:MAX_EVIDENCE_DEVICES])
        more = f" (+{len(names) - MAX_EVIDENCE_DEVICES} more)" if len(names) > MAX_EVIDENCE_DEVICES else ""
        total = len(passing | set(failing))
        return AutoAnswer("fail", f"{len(names)} of {total} devices fail: {shown}{more}", as_of)
    if passing:
        return AutoAnswer("pass", f"all {len(passing)} devices pass: {', '.join(item.auto.checks)}", as_of)
    return AutoAnswer(None, NO_EVIDENCE, None)


@dataclass
class EvidenceView:
    """A stored evidence sentence taken apart, for pages that show it in the reader's language."""

    kind: str  # fail, pass, none, or text (a sentence this version does not recognise)
    failing: int = 0
    total: int = 0
    devices: list[tuple[str, list[str]]] = field(default_factory=list)  # hostname -> failing checks
    more: int = 0
    checks: list[str] = field(default_factory=list)
    text: str = ""


_FAIL_RE = re.compile(r"^(\d+) of (\d+) devices fail: (.*?)(?: \(\+(\d+) more\))?$", re.S)
_PASS_RE = re.compile(r"^all (\d+) devices pass: (.*)$", re.S)
NO_EVIDENCE = "no agent evidence for this item at this site yet"


def parse_evidence(text: str | None) -> EvidenceView:
    if not text or text == NO_EVIDENCE:
        return EvidenceView("none", text=text or "")
    if m := _FAIL_RE.match(text):
        devices = []
        for part in m.group(3).split("; "):
            host, sep, checks = part.rpartition(": ")
            if not sep:
                return EvidenceView("text", text=text)
            devices.append((host, checks.split(", ")))
        return EvidenceView(
            "fail", int(m.group(1)), int(m.group(2)), devices, int(m.group(4) or 0), text=text
        )
    if m := _PASS_RE.match(text):
        return EvidenceView("pass", 0, int(m.group(1)), checks=m.group(2).split(", "), text=text)
    return EvidenceView("text", text=text)


def prefill(session: Session, inspection: Inspection, *, actor: str) -> None:
    """(Re)compute automatic items; answers an inspector changed by hand are kept, evidence refreshed."""
    template = template_of(inspection)
    now = utcnow()
    existing = {
        a.item_id: a
        for a in session.exec(
            select(InspectionAnswer).where(InspectionAnswer.inspection_id == inspection.id)
        ).all()
    }
    for _, item in template.items():
        if item.auto is None:
            continue
        auto = auto_answer(session, inspection.site_id, item)
        row = existing.get(item.id) or InspectionAnswer(inspection_id=inspection.id or 0, item_id=item.id)
        row.auto_value, row.auto_evidence, row.auto_as_of = auto.value, auto.evidence, auto.as_of
        if row.revision == 0:  # nobody answered it by hand: the evidence is the answer
            row.value, row.source = auto.value, "auto"
        row.updated_at, row.updated_by = now, actor
        session.add(row)
    inspection.prefilled_at = now
    session.add(inspection)


# --- lifecycle ---------------------------------------------------------------------------------


def create_inspection(
    session: Session,
    *,
    site: Site,
    template_key: str,
    lead_username: str,
    team: str = "",
    scheduled_for: date | None = None,
    actor: str,
) -> Inspection:
    template = get_template(template_key)
    lead = lead_username.strip() or actor
    if lead != actor:
        _check_lead(session, lead, site)
    insp = Inspection(
        site_id=site.id or 0,
        template_key=template.key,
        template_version=template.version,
        team=team.strip(),
        lead_username=lead,
        scheduled_for=scheduled_for,
        created_by=actor,
        status=InspectionStatus.IN_PROGRESS
        if scheduled_for is None or scheduled_for <= local_today()
        else InspectionStatus.SCHEDULED,
    )
    session.add(insp)
    session.flush()
    prefill(session, insp, actor=actor)
    _carry_over(session, insp)
    record(session, actor=actor, action="inspection.create", target=f"{site.code}#{insp.id}", sites=[site.id])
    session.flush()
    return insp


LEAD_ROLES = (Role.INSPECTOR, Role.ADMIN)


def _check_lead(session: Session, username: str, site: Site) -> None:
    """The lead signs off: a mistyped or unsuitable name would leave the inspection unsignable."""
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None or user.disabled:
        raise NotFound(
            "lead inspector %(username)s: no active user with this username", username=repr(username)
        )
    if user.role not in LEAD_ROLES:
        raise ServiceError(
            "lead inspector %(username)s: must be an inspector or an administrator", username=repr(username)
        )
    sites = set(session.exec(select(UserSite.site_id).where(UserSite.user_id == user.id)).all())
    if sites and site.id not in sites:
        raise ServiceError(
            "lead inspector %(username)s: may not see site %(site_code)s",
            username=repr(username),
            site_code=site.code,
        )


def _carry_over(session: Session, insp: Inspection) -> None:
    """Unverified actions of the site's earlier inspections join this one, linked to their origin."""
    site_actions = session.exec(
        select(Action).where(Action.site_id == insp.site_id, Action.inspection_id != insp.id)
    ).all()
    # An action a later inspection carried (whatever became of that copy, verified included) is
    # followed there: carry only the newest copy, and never revive one whose copy was verified.
    superseded = {a.carried_from_id for a in site_actions if a.carried_from_id is not None}
    for action in site_actions:
        if action.status == ActionStatus.VERIFIED or action.id in superseded:
            continue
        session.add(
            Action(
                site_id=action.site_id,
                inspection_id=insp.id or 0,
                item_id=action.item_id,
                title=action.title,
                severity=action.severity,
                owner=action.owner,
                due_date=action.due_date,
                status=action.status,
                carried_from_id=action.id,
            )
        )


def answers(session: Session, inspection_id: int) -> dict[str, InspectionAnswer]:
    rows = session.exec(select(InspectionAnswer).where(InspectionAnswer.inspection_id == inspection_id)).all()
    return {a.item_id: a for a in rows}


def _check_value(item: ChecklistItem, value: Any) -> Any:
    if value is None or value == "":
        return None
    if item.type == ItemType.PASS_FAIL:
        if value not in PASS_FAIL_VALUES:
            raise ServiceError(
                "item %(item_id)s: answer must be one of %(choices)s",
                item_id=item.id,
                choices=", ".join(PASS_FAIL_VALUES),
            )
        return value
    if item.type == ItemType.NUMBER:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ServiceError(
                "item %(item_id)s: %(value)s is not a number", item_id=item.id, value=repr(value)
            ) from None
        return int(number) if number.is_integer() else number
    if item.type == ItemType.CHOICE:
        allowed = [c.value for c in item.choices]
        if value not in allowed:
            raise ServiceError(
                "item %(item_id)s: %(value)s is not one of %(choices)s",
                item_id=item.id,
                value=repr(value),
                choices=", ".join(allowed),
            )
        return value
    if not isinstance(value, str) or len(value) > 4000:
        raise ServiceError("item %(item_id)s: expected text of at most 4000 characters", item_id=item.id)
    return value.strip()


@dataclass
class SyncOp:
    op_id: str
    item_id: str
    value: Any
    note: str = ""
    base_revision: int = 0


@dataclass
class OpOutcome:
    op_id: str
    item_id: str
    outcome: str  # applied, duplicate, conflict, rejected
    message: str = ""
    server: dict[str, Any] = field(default_factory=dict)


def answer_state(row: InspectionAnswer | None) -> dict[str, Any]:
    if row is None:
        return {"value": None, "note": "", "revision": 0, "source": "manual"}
    return {
        "value": row.value,
        "note": row.note,
        "revision": row.revision,
        "source": row.source,
        "auto_value": row.auto_value,
        "auto_evidence": row.auto_evidence,
        "auto_as_of": row.auto_as_of.isoformat() if row.auto_as_of else None,
        "updated_by": row.updated_by,
    }


def sync_answers(
    session: Session, inspection: Inspection, ops: list[SyncOp], *, actor: str
) -> list[OpOutcome]:
    """Apply offline changes. Idempotent by ``op_id``; a change made on a stale revision that disagrees
    with the server's answer is a conflict (nothing overwritten, the server's answer returned)."""
    if inspection.status in (InspectionStatus.SIGNED, InspectionStatus.PUBLISHED):
        raise Conflict("this inspection is signed off; answers can no longer change")
    template = template_of(inspection)
    current = answers(session, inspection.id or 0)
    out: list[OpOutcome] = []
    now = utcnow()
    for op in ops:
        item = template.item(op.item_id)
        if session.get(SyncReceipt, op.op_id) is not None:
            out.append(
                OpOutcome(op.op_id, op.item_id, "duplicate", server=answer_state(current.get(op.item_id)))
            )
            continue
        if item is None:
            out.append(OpOutcome(op.op_id, op.item_id, "rejected", f"unknown item {op.item_id!r}"))
            continue
        try:
            value = _check_value(item, op.value)
        except ServiceError as exc:
            out.append(OpOutcome(op.op_id, op.item_id, "rejected", str(exc)))
            continue
        note = op.note.strip()[:4000]
        row = current.get(op.item_id)
        if row is not None and op.base_revision != row.revision and (row.value, row.note) != (value, note):
            out.append(
                OpOutcome(
                    op.op_id,
                    op.item_id,
                    "conflict",
                    f"changed by {row.updated_by or 'someone'} since you loaded it",
                    server=answer_state(row),
                )
            )
            continue
        if row is None:
            row = InspectionAnswer(inspection_id=inspection.id or 0, item_id=op.item_id)
            current[op.item_id] = row
        if item.auto is not None and row.auto_value is not None:
            row.source = "auto" if value == row.auto_value else "override"
        else:
            row.source = "manual"
        row.value, row.note = value, note
        row.revision += 1
        row.updated_at, row.updated_by = now, actor
        session.add(row)
        session.add(SyncReceipt(op_id=op.op_id, inspection_id=inspection.id or 0, outcome="applied"))
        out.append(OpOutcome(op.op_id, op.item_id, "applied", server=answer_state(row)))
    if inspection.status == InspectionStatus.SCHEDULED and any(o.outcome == "applied" for o in out):
        inspection.status = InspectionStatus.IN_PROGRESS
        session.add(inspection)
    session.flush()
    return out


# --- scoring -----------------------------------------------------------------------------------


@dataclass
class SectionScore:
    section_id: str
    score: float | None  # None when nothing in it was scored
    passed_weight: float
    scored_weight: float


@dataclass
class Score:
    overall: float | None
    passed: bool | None
    threshold: float
    sections: list[SectionScore]


def score(template: ChecklistTemplate, values: dict[str, Any]) -> Score:
    """Weighted: pass counts its weight, fail counts zero of it, N/A and unanswered are left out."""
    sections = []
    total_pass = total = 0.0
    for section in template.sections:
        p = t = 0.0
        for item in section.items:
            v = values.get(item.id)
            if not item.scored or v not in ("pass", "fail"):
                continue
            t += item.weight
            p += item.weight if v == "pass" else 0
        sections.append(SectionScore(section.id, round(100 * p / t, 1) if t else None, p, t))
        total_pass += p
        total += t
    overall = round(100 * total_pass / total, 1) if total else None
    return Score(
        overall,
        None if overall is None else overall >= template.pass_threshold,
        template.pass_threshold,
        sections,
    )


def current_score(session: Session, inspection: Inspection) -> Score:
    return score(
        template_of(inspection), {k: a.value for k, a in answers(session, inspection.id or 0).items()}
    )


# --- sign-off and actions ----------------------------------------------------------------------


@dataclass(frozen=True)
class Gap:
    """Something that blocks sign-off: an item and why (``not_answered``, ``photo_required``,
    ``evidence_on_fail``: failed without a photo or a note)."""

    item_id: str
    reason: str

    def __str__(self) -> str:
        return f"{self.item_id}: {GAP_TEXT[self.reason]}"


GAP_TEXT = {
    "not_answered": "not answered",
    "photo_required": "a photo is required",
    "evidence_on_fail": "failed, needs a photo or a note",
}


def signoff_gaps(session: Session, inspection: Inspection) -> list[Gap]:
    template = template_of(inspection)
    rows = answers(session, inspection.id or 0)
    photos = {
        p.item_id
        for p in session.exec(
            select(InspectionPhoto).where(InspectionPhoto.inspection_id == inspection.id)
        ).all()
    }
    gaps = []
    for _, item in template.items():
        row = rows.get(item.id)
        value = row.value if row else None
        if item.type == ItemType.SIGNATURE:
            continue  # given at sign-off
        if item.type == ItemType.PHOTO:
            if item.required and item.id not in photos:
                gaps.append(Gap(item.id, "photo_required"))
            continue
        if item.required and value in (None, ""):
            gaps.append(Gap(item.id, "not_answered"))
        if value == "fail" and item.evidence_on_fail and not (row and row.note) and item.id not in photos:
            gaps.append(Gap(item.id, "evidence_on_fail"))
    return gaps


def missing_for_signoff(session: Session, inspection: Inspection) -> list[str]:
    return [str(g) for g in signoff_gaps(session, inspection)]


def sign_off(
    session: Session,
    inspection: Inspection,
    *,
    actor: str,
    actor_role: Role,
    signature_name: str,
    due_days: dict[str, int],
) -> Score:
    if inspection.status in (InspectionStatus.SIGNED, InspectionStatus.PUBLISHED):
        raise Conflict("this inspection is already signed off")
    if actor != inspection.lead_username and actor_role != Role.ADMIN:
        raise ServiceError("only the lead inspector or an administrator can sign off")
    if not signature_name.strip():
        raise ServiceError("type your full name to sign")
    missing = missing_for_signoff(session, inspection)
    if missing:
        raise Conflict("cannot sign off yet: %(missing)s", missing="; ".join(missing))
    template = template_of(inspection)
    signature = next((i for _, i in template.items() if i.type == ItemType.SIGNATURE), None)
    if signature is not None:
        sync_answers(
            session,
            inspection,
            [
                SyncOp(
                    op_id=f"signoff-{inspection.id}",
                    item_id=signature.id,
                    value=signature_name.strip(),
                    base_revision=-1,
                )
            ],
            actor=actor,
        )
    result = current_score(session, inspection)
    now = utcnow()
    inspection.status = InspectionStatus.SIGNED
    inspection.signed_at, inspection.signed_by = now, actor
    inspection.score, inspection.passed = result.overall, result.passed
    session.add(inspection)
    _create_actions(session, inspection, template, due_days)
    record(
        session,
        actor=actor,
        action="inspection.sign",
        target=str(inspection.id),
        detail={"score": result.overall},
        sites=[inspection.site_id],
    )
    session.flush()
    return result


def _create_actions(
    session: Session, inspection: Inspection, template: ChecklistTemplate, due_days: dict[str, int]
) -> None:
    rows = answers(session, inspection.id or 0)
    carried = {
        a.item_id: a for a in session.exec(select(Action).where(Action.inspection_id == inspection.id)).all()
    }
    for _, item in template.items():
        row = rows.get(item.id)
        if row is None or row.value != "fail":
            continue
        if item.id in carried:
            continue  # the open action from last time stays the one to follow
        days = due_days.get(item.severity.value, 90)
        session.add(
            Action(
                site_id=inspection.site_id,
                inspection_id=inspection.id or 0,
                item_id=item.id,
                title=item.label.vi,
                severity=item.severity.value,
                due_date=local_date(inspection.signed_at or utcnow()) + timedelta(days=days),
            )
        )


def list_actions(
    session: Session,
    *,
    scope: Collection[int] | None,
    site_id: int | None = None,
    inspection_id: int | None = None,
    open_only: bool = False,
) -> list[Action]:
    q = select(Action).order_by(Action.due_date, Action.id)
    if scope is not None:
        q = q.where(col(Action.site_id).in_(scope))
    if site_id is not None:
        q = q.where(Action.site_id == site_id)
    if inspection_id is not None:
        q = q.where(Action.inspection_id == inspection_id)
    if open_only:
        # Open work only: not verified, and not an old copy that a later inspection carried over
        # (the copy is the one followed; listing both would count the same work twice).
        carried = select(Action.carried_from_id).where(col(Action.carried_from_id).is_not(None))
        q = q.where(Action.status != ActionStatus.VERIFIED, col(Action.id).not_in(carried))
    return list(session.exec(q).all())


_NEXT = {
    ActionStatus.OPEN: {ActionStatus.IN_PROGRESS, ActionStatus.DONE},
    ActionStatus.IN_PROGRESS: {ActionStatus.DONE, ActionStatus.OPEN},
    ActionStatus.DONE: {ActionStatus.VERIFIED, ActionStatus.IN_PROGRESS},
    ActionStatus.VERIFIED: set(),
}


def update_action(
    session: Session,
    action: Action,
    *,
    actor: str,
    actor_role: Role,
    status: str | None = None,
    owner: str | None = None,
    due_date: date | None = None,
) -> Action:
    if status is not None:
        try:
            new = ActionStatus(status)
        except ValueError:
            raise ServiceError("unknown action status %(status)s", status=repr(status)) from None
        if new != action.status and new not in _NEXT[ActionStatus(action.status)]:
            raise ServiceError(
                "an action cannot go from %(action_status)s to %(new)s", action_status=action.status, new=new
            )
        if new == ActionStatus.VERIFIED and actor_role not in (Role.INSPECTOR, Role.ADMIN):
            raise ServiceError("only an inspector or an administrator verifies an action")
        action.status = new
    if owner is not None:
        action.owner = owner.strip()[:255]
    if due_date is not None:
        action.due_date = due_date
    action.updated_at, action.updated_by = utcnow(), actor
    session.add(action)
    record(
        session,
        actor=actor,
        action="action.update",
        target=str(action.id),
        detail={"status": action.status, "owner": action.owner},
        sites=[action.site_id],
    )
    return action


def inspection_view(session: Session, insp: Inspection) -> dict[str, Any]:
    """An inspection with its template, answers, score, photos and actions: what the API answers and
    the fill-in page shows."""
    template = template_of(insp)
    rows = answers(session, insp.id or 0)
    result = current_score(session, insp)
    photos = session.exec(select(InspectionPhoto).where(InspectionPhoto.inspection_id == insp.id)).all()
    return {
        "id": insp.id,
        "site_id": insp.site_id,
        "status": insp.status,
        "team": insp.team,
        "lead": insp.lead_username,
        "scheduled_for": insp.scheduled_for,
        "created_at": insp.created_at,
        "prefilled_at": insp.prefilled_at,
        "signed_at": insp.signed_at,
        "signed_by": insp.signed_by,
        "template": template.model_dump(mode="json"),
        "answers": {k: answer_state(v) for k, v in rows.items()},
        "score": {
            "overall": result.overall,
            "passed": result.passed,
            "threshold": result.threshold,
            "sections": [s.__dict__ for s in result.sections],
        },
        "missing_for_signoff": missing_for_signoff(session, insp),
        "photos": [
            {"id": p.id, "item_id": p.item_id, "content_type": p.content_type, "size": p.size_bytes}
            for p in photos
        ],
        "actions": [
            a.model_dump(mode="json") for a in list_actions(session, scope=None, inspection_id=insp.id)
        ],
    }
