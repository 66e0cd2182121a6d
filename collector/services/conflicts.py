"""Identity conflicts and move requests (``collector.models.identity``): list them and resolve them.

Who may resolve what, for an administrator scoped to sites:
- *merge* (for a move request: *approve*) gives the device to the claiming agent, and to its site:
  only an administrator of the device's site may give the device up;
- *keep apart*: an administrator of either site;
- *revoke* the claiming agent's key: an administrator of the claiming agent's site.
A claim neither of whose sites the administrator may see does not exist for them (404).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from sqlmodel import Session, col, or_, select

from collector.models.core import Agent, Device, Site
from collector.models.identity import ClaimKind, ClaimStatus, IdentityConflict
from collector.models.types import utcnow
from collector.services import audit, moves
from collector.services.enrollment import revoke_agent
from collector.services.errors import Conflict, Forbidden, NotFound

Scope = Collection[int] | None


class AlreadyResolved(Conflict):
    pass


class NothingToMerge(Conflict):
    pass


class MayNotGiveAway(Forbidden):
    pass


class MayNotRevoke(Forbidden):
    pass


class Resolution(StrEnum):
    MERGE = "merge"
    KEEP_APART = "keep_apart"
    REVOKE = "revoke"


OUTCOME = {
    Resolution.MERGE: ClaimStatus.MERGED,
    Resolution.KEEP_APART: ClaimStatus.KEPT_APART,
    Resolution.REVOKE: ClaimStatus.REVOKED,
}


@dataclass
class ClaimRow:
    claim: IdentityConflict
    device: Device | None
    device_site: Site | None
    owner_agent: Agent | None
    claimant_device: Device | None
    claimant_site: Site | None
    claimant_agent: Agent | None
    # Whether the viewer may see each side: the other side of a claim is named only when it may.
    sees_device: bool
    sees_claimant: bool

    @property
    def is_move(self) -> bool:
        return self.claim.kind == ClaimKind.MOVE

    @property
    def open(self) -> bool:
        return self.claim.status == ClaimStatus.OPEN


def _sees(scope: Scope, site_id: int | None) -> bool:
    return scope is None or (site_id is not None and site_id in scope)


def _row(session: Session, claim: IdentityConflict, scope: Scope) -> ClaimRow:
    def get(model: type, key: object) -> object | None:
        return session.get(model, key) if key is not None else None

    return ClaimRow(
        claim=claim,
        device=get(Device, claim.device_id),
        device_site=get(Site, claim.device_site_id),
        owner_agent=get(Agent, claim.owner_agent_id),
        claimant_device=get(Device, claim.claimant_device_id),
        claimant_site=get(Site, claim.claimant_site_id),
        claimant_agent=get(Agent, claim.claimant_agent_id),
        sees_device=_sees(scope, claim.device_site_id),
        sees_claimant=_sees(scope, claim.claimant_site_id),
    )


def list_claims(
    session: Session,
    *,
    scope: Scope,
    status: str | None = ClaimStatus.OPEN,
    kind: str | None = None,
    device_id: int | None = None,
    limit: int = 200,
) -> list[ClaimRow]:
    """Claims either of whose sites is in ``scope``, newest first."""
    q = select(IdentityConflict)
    if scope is not None:
        q = q.where(
            or_(
                col(IdentityConflict.device_site_id).in_(scope),
                col(IdentityConflict.claimant_site_id).in_(scope),
            )
        )
    if status == "resolved":
        q = q.where(IdentityConflict.status != ClaimStatus.OPEN)
    elif status:
        q = q.where(IdentityConflict.status == status)
    if kind:
        q = q.where(IdentityConflict.kind == kind)
    if device_id is not None:
        q = q.where(
            or_(IdentityConflict.device_id == device_id, IdentityConflict.claimant_device_id == device_id)
        )
    q = q.order_by(col(IdentityConflict.detected_at).desc(), col(IdentityConflict.id).desc()).limit(limit)
    return [_row(session, c, scope) for c in session.exec(q).all()]


def get_claim(session: Session, claim_id: int, *, scope: Scope) -> ClaimRow:
    claim = session.get(IdentityConflict, claim_id)
    if claim is None or not (_sees(scope, claim.device_site_id) or _sees(scope, claim.claimant_site_id)):
        raise NotFound("no identity conflict %(claim_id)s", claim_id=claim_id)
    return _row(session, claim, scope)


def resolve_claim(
    session: Session,
    *,
    claim_id: int,
    action: Resolution,
    actor: str,
    scope: Scope,
    address: str | None = None,
    note: str | None = None,
) -> ClaimRow:
    row = get_claim(session, claim_id, scope=scope)
    claim = row.claim
    if claim.status != ClaimStatus.OPEN:
        raise AlreadyResolved(f"identity conflict {claim_id} was already resolved ({claim.status})")
    detail: dict[str, object] = {
        "claim": claim.id,
        "kind": claim.kind,
        "device": claim.device_id,
        "claimant_device": claim.claimant_device_id,
        "claimant_agent": claim.claimant_agent_id,
        "device_site": row.device_site.code if row.device_site else None,
        "claimant_site": row.claimant_site.code if row.claimant_site else None,
    }
    if action == Resolution.MERGE:
        if not row.sees_device:
            raise MayNotGiveAway("only an administrator of the device's site may give it to another agent")
        detail.update(_merge(session, row, actor=actor, address=address))
    elif action == Resolution.REVOKE:
        if not row.sees_claimant:
            raise MayNotRevoke("only an administrator of the claiming agent's site may revoke its key")
        if claim.claimant_agent_id:
            revoke_agent(session, claim.claimant_agent_id, actor=actor)
    claim.status = OUTCOME[action]
    claim.resolved_at, claim.resolved_by = utcnow(), actor
    claim.note = (note or "").strip()[:2000] or None
    session.add(claim)
    audit.record(
        session,
        actor=actor,
        action=f"identity.{action.value}",
        target=f"device:{claim.device_id}",
        address=address,
        detail=detail,
        sites=[claim.device_site_id, claim.claimant_site_id],
    )
    session.flush()
    return _row(session, claim, scope)


def _merge(session: Session, row: ClaimRow, *, actor: str, address: str | None) -> dict[str, object]:
    """The claiming agent takes the device over: the device moves to its site (a move request
    approved), the claimant's flagged device is folded into it, and it is bound to that agent."""
    device, source, agent = row.device, row.claimant_device, row.claimant_agent
    if device is None or source is None:
        raise NothingToMerge(
            "one of the two devices of this conflict no longer exists; keep them apart instead"
        )
    if agent is None or agent.revoked_at is not None:
        raise NothingToMerge("the claiming agent's key was revoked: there is nobody to give the device to")
    to_site = session.get(Site, agent.site_id)
    assert to_site is not None
    from_code = row.device_site.code if row.device_site else None
    moves.move_devices(
        session,
        device_ids=[device.id or 0],
        to_site=to_site,
        actor=actor,
        reason=f"identity conflict {row.claim.id} merged",
        address=address,
    )
    session.refresh(device)
    session.refresh(source)
    previous_agent, folded = device.agent_id, source.id
    moves.fold_device(session, source=source, target=device)
    device = session.get(Device, row.claim.device_id)
    assert device is not None
    device.agent_id = agent.id
    session.add(device)
    return {"from": from_code, "to": to_site.code, "previous_agent": previous_agent, "folded": folded}
