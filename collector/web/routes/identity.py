"""Identity conflicts and move requests in the console: the admin page, the panel on both devices'
pages, and moving a device to another site from its page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response

from collector.http.deps import AdminUser, DbSession, Principal
from collector.http.params import Id
from collector.models.core import Device
from collector.plugins import Link, PageSpec
from collector.services import conflicts as svc
from collector.services import devices as device_svc
from collector.services import moves
from collector.services.errors import NotFound, ServiceError
from collector.web.setup import client_address, flash, redirect, render, request_language, translator_for

router = APIRouter(include_in_schema=False)


def device_context(session: Any, device: Device, principal: Principal) -> dict[str, Any]:
    """Claims on this device or made through it, for every viewer; the move form for admins."""
    context: dict[str, Any] = {
        "device_claims": svc.list_claims(session, scope=principal.site_ids, status=None, device_id=device.id)
    }
    if principal.role == "admin":
        sites = device_svc.list_sites(session, scope=principal.site_ids)
        context["move_sites"] = [r.site for r in sites if r.site.id != device.site_id]
    return context


@router.get("/admin/identity")
def identity_page(request: Request, user: AdminUser, session: DbSession) -> Response:
    scope = user.site_ids
    open_rows = svc.list_claims(session, scope=scope)
    return render(
        request,
        "admin/identity.html",
        {
            "moves": [r for r in open_rows if r.is_move],
            "conflicts": [r for r in open_rows if not r.is_move],
            "resolved": svc.list_claims(session, scope=scope, status="resolved", limit=50),
        },
    )


def _message(_: Any, action: svc.Resolution, row: svc.ClaimRow) -> str:
    if action == svc.Resolution.MERGE:
        if row.is_move:
            return _("The move was approved: the device now belongs to site %(site)s.", site=_site(row))
        return _("The devices were merged: the claiming agent now reports the device.")
    if action == svc.Resolution.KEEP_APART:
        return _("The two devices are kept apart.")
    return _("The claiming agent's key was revoked.")


def _site(row: svc.ClaimRow) -> str:
    return row.claimant_site.code if row.claimant_site else "?"


def _error(_: Any, exc: ServiceError, lang: str) -> str:
    known = {
        svc.AlreadyResolved: _("This conflict was already resolved."),
        svc.MayNotGiveAway: _("Only an administrator of the device's site may give it to another agent."),
        svc.MayNotRevoke: _("Only an administrator of the claiming agent's site may revoke its key."),
        svc.NothingToMerge: _(
            "These devices cannot be merged (a device is gone or the claiming agent was revoked): "
            "keep them apart."
        ),
    }
    return known.get(type(exc)) or exc.text(lang)


@router.post("/admin/identity/{claim_id}")
def resolve(
    request: Request,
    claim_id: Id,
    user: AdminUser,
    session: DbSession,
    action: str = Form(""),
    note: str = Form("", max_length=2000),
    back: str = Form(""),
) -> Response:
    _ = translator_for(request)
    target = (
        back if back.startswith("/devices/") and back[len("/devices/") :].isdigit() else "/admin/identity"
    )
    try:
        choice = svc.Resolution(action)
    except ValueError:
        return flash(redirect(target), _("Choose how to resolve the conflict."), "error")
    try:
        row = svc.resolve_claim(
            session,
            claim_id=claim_id,
            action=choice,
            actor=user.username,
            scope=user.site_ids,
            address=client_address(request),
            note=note,
        )
        session.commit()
    except NotFound:
        session.rollback()
        raise HTTPException(404) from None
    except ServiceError as exc:
        session.rollback()
        return flash(redirect(target), _error(_, exc, request_language(request)), "error")
    if choice == svc.Resolution.MERGE and target.startswith("/devices/"):
        target = f"/devices/{row.claim.device_id}"  # the flagged device is gone: show the merged one
    return flash(redirect(target), _message(_, choice, row), "ok")


@router.post("/devices/{device_id}/move")
def move(
    request: Request,
    device_id: Id,
    user: AdminUser,
    session: DbSession,
    site: str = Form(""),
    reason: str = Form("", max_length=500),
) -> Response:
    _ = translator_for(request)
    back = f"/devices/{device_id}"
    try:
        device = device_svc.get_device(session, device_id, scope=user.site_ids)
    except NotFound:
        raise HTTPException(404) from None
    try:
        to_site = device_svc.site_in_scope(session, site, scope=user.site_ids)
    except NotFound:
        return flash(redirect(back), _("Choose a site."), "error")
    try:
        moves.move_device(
            session,
            device=device,
            to_site=to_site,
            actor=user.username,
            reason=reason.strip() or "moved by an administrator",
            address=client_address(request),
        )
        session.commit()
    except moves.PolledFromItsSite:
        session.rollback()
        message = _(
            "A network device belongs to the site of the agent that polls it: move that agent's PC, "
            "or revoke its key, first."
        )
        return flash(redirect(back), message, "error")
    except ServiceError as exc:
        session.rollback()
        return flash(redirect(back), exc.text(request_language(request)), "error")
    return flash(redirect(back), _("The device was moved to site %(site)s.", site=to_site.code), "ok")


PLUGIN = PageSpec(
    router,
    nav=(Link(93, "Identity conflicts", "/admin/identity"),),
    device_context=(device_context,),
)
