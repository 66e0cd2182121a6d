"""Identity conflicts and move requests (admins), and moving a device to another site.

A claim is listed to administrators of either of its sites; the other side's details (its device,
its agent) are shown only to those who may see that site; a move request names both sites, which
is what it asks about.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from collector.api.schemas.identity import ClaimedIdentity, ClaimPublic, ClaimSide, MoveDone
from collector.http.deps import AdminUser, DbSession
from collector.http.params import Id, OptionalIdQuery
from collector.plugins import RouterSpec
from collector.services import conflicts as svc
from collector.services import devices as device_svc
from collector.services import moves
from collector.services.errors import ServiceError

router = APIRouter(tags=["identity"])


class ResolveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: svc.Resolution = Field(
        description="merge (the claiming agent takes the device over; approves a move request), "
        "keep_apart (two devices), revoke (the claiming agent's key)"
    )
    note: str | None = Field(default=None, max_length=2000)


class MoveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site: str = Field(min_length=1, max_length=64, description="the code of the site to move to")
    reason: str | None = Field(default=None, max_length=500)


def _side(row: svc.ClaimRow, *, claimant: bool) -> ClaimSide:
    sees = row.sees_claimant if claimant else row.sees_device
    site = row.claimant_site if claimant else row.device_site
    device = row.claimant_device if claimant else row.device
    agent = row.claimant_agent if claimant else row.owner_agent
    if not sees:
        return ClaimSide(
            site=site.code if site and row.is_move else None,
            device_id=None,
            hostname=None,
            agent_id=None,
            agent_hostname=None,
            agent_last_seen_at=None,
            agent_revoked=None,
            last_report_at=None,
        )
    return ClaimSide(
        site=site.code if site else None,
        device_id=device.id if device else None,
        hostname=device.hostname if device else None,
        agent_id=agent.id if agent else None,
        agent_hostname=agent.hostname if agent else None,
        agent_last_seen_at=agent.last_seen_at if agent else None,
        agent_revoked=agent.revoked_at is not None if agent else None,
        last_report_at=device.last_report_at if device else None,
    )


def _public(row: svc.ClaimRow) -> ClaimPublic:
    c = row.claim
    return ClaimPublic(
        id=c.id or 0,
        kind=c.kind,
        status=c.status,
        detected_at=c.detected_at,
        device=_side(row, claimant=False),
        claimant=_side(row, claimant=True),
        claimed=ClaimedIdentity(hostname=c.hostname, machine_id=c.machine_id, serial=c.serial, mac=c.mac),
        resolved_at=c.resolved_at,
        resolved_by=c.resolved_by,
        note=c.note,
    )


@router.get("/identity-conflicts", response_model=list[ClaimPublic])
def list_conflicts(
    user: AdminUser,
    session: DbSession,
    status: str = Query("open", pattern="^(open|resolved|merged|kept_apart|revoked|all)$"),
    kind: str | None = Query(None, pattern="^(conflict|move)$"),
    device_id: OptionalIdQuery = None,
) -> list[ClaimPublic]:
    """Open identity conflicts and move requests of the caller's sites (``status=all`` for every one)."""
    rows = svc.list_claims(
        session,
        scope=user.site_ids,
        status=None if status == "all" else status,
        kind=kind,
        device_id=device_id,
    )
    return [_public(r) for r in rows]


@router.get("/identity-conflicts/{claim_id}", response_model=ClaimPublic)
def get_conflict(claim_id: Id, user: AdminUser, session: DbSession) -> ClaimPublic:
    try:
        return _public(svc.get_claim(session, claim_id, scope=user.site_ids))
    except ServiceError as exc:
        raise HTTPException(exc.status_code, str(exc)) from None


@router.post("/identity-conflicts/{claim_id}/resolve", response_model=ClaimPublic)
def resolve_conflict(
    claim_id: Id, body: ResolveRequest, request: Request, user: AdminUser, session: DbSession
) -> ClaimPublic:
    try:
        row = svc.resolve_claim(
            session,
            claim_id=claim_id,
            action=body.action,
            actor=user.username,
            scope=user.site_ids,
            address=request.client.host if request.client else None,
            note=body.note,
        )
        session.commit()
    except ServiceError as exc:
        session.rollback()
        raise HTTPException(exc.status_code, str(exc)) from None
    return _public(row)


@router.post("/devices/{device_id}/move", response_model=MoveDone)
def move_device(
    device_id: Id, body: MoveRequest, request: Request, user: AdminUser, session: DbSession
) -> MoveDone:
    """Move a device, its history and findings (and the agent on that PC) to another site.

    The caller must administer both sites."""
    try:
        device = device_svc.get_device(session, device_id, scope=user.site_ids)
        site = device_svc.site_in_scope(session, body.site, scope=user.site_ids)
        done = moves.move_device(
            session,
            device=device,
            to_site=site,
            actor=user.username,
            reason=(body.reason or "").strip() or "moved by an administrator",
            address=request.client.host if request.client else None,
        )
        session.commit()
    except ServiceError as exc:
        session.rollback()
        raise HTTPException(exc.status_code, str(exc)) from None
    return MoveDone(device_id=device_id, site=done.to_site, agents_moved=done.agents)


PLUGIN = RouterSpec(router)
