"""Inspection pages: list and schedule, the (offline-capable) fill page, sign-off, publishing, actions."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import select

from collector.http.deps import DbSession, Principal, Settings, allow
from collector.http.params import Id
from collector.localtime import today as local_today
from collector.models.core import Role, Site
from collector.models.types import utcnow
from collector.plugins import Link, PageSpec
from collector.services import inspections as svc
from collector.services import publishing
from collector.services.checklists import ChecklistTemplate, ItemType, UnknownTemplate, shipped_templates
from collector.services.devices import list_sites, site_in_scope, site_to_change
from collector.services.errors import Forbidden, NotFound, ServiceError
from collector.web.setup import flash, render, request_language, translator_for

router = APIRouter(include_in_schema=False)
# Agent evidence older than this is flagged on the fill page: a PC may have changed since.
EVIDENCE_STALE_DAYS = 7
# Items a person answers on the page (photos and the signature are counted apart).
ANSWERABLE = (ItemType.PASS_FAIL, ItemType.NUMBER, ItemType.TEXT, ItemType.CHOICE)

Reader = Annotated[Principal, Depends(allow(Role.ADMIN, Role.TECHNICIAN, Role.INSPECTOR))]
Inspector = Annotated[Principal, Depends(allow(Role.ADMIN, Role.INSPECTOR))]


def _check_titles(template: ChecklistTemplate) -> dict[str, object]:
    """The catalog titles (vi/en) of the checks behind the template's automatic items."""
    from checks.catalog import load_catalog

    catalog = load_catalog()
    ids = {c for _, i in template.items() if i.auto for c in i.auto.checks}
    return {c: catalog[c].title for c in ids if c in catalog}


# The service's refusals of a lead inspector (msgids, which do not change with the language).
_LEAD_REFUSED = frozenset(
    {
        "lead inspector %(username)s: no active user with this username",
        "lead inspector %(username)s: must be an inspector or an administrator",
        "lead inspector %(username)s: may not see site %(site_code)s",
    }
)


@router.get("/inspections")
def inspections_page(request: Request, user: Reader, session: DbSession, site: str | None = None) -> Response:
    site_id = None
    if site:
        try:
            site_id = site_in_scope(session, site, scope=user.site_ids).id
        except NotFound:
            raise HTTPException(404) from None
    rows = svc.list_inspections(session, scope=user.site_ids, site_id=site_id)
    sites = {s.site.id: s.site for s in list_sites(session, scope=user.site_ids)}
    templates = sorted({(t.key, t.title.vi, t.title.en) for t in shipped_templates().values()})
    actions = svc.list_actions(session, scope=user.site_ids, site_id=site_id, open_only=True)
    return render(
        request,
        "inspections.html",
        {
            "rows": rows,
            "sites": sites,
            "templates": templates,
            "site_filter": site,
            "site_filter_name": next((s.name for s in sites.values() if s.code == site), None),
            "actions": actions,
            # The open actions span inspections: each row names its site and inspection.
            "inspection_dates": {r.id: r.signed_at or r.created_at for r in rows},
            "can_create": user.role in (Role.ADMIN, Role.INSPECTOR),
            "today": local_today().isoformat(),
            "today_date": local_today(),
        },
    )


@router.post("/inspections")
def create_inspection(
    request: Request,
    user: Inspector,
    session: DbSession,
    site: Annotated[str, Form()],
    template: Annotated[str, Form()] = "commune-security",
    team: Annotated[str, Form()] = "",
    lead: Annotated[str, Form()] = "",
    scheduled_for: Annotated[str, Form()] = "",
) -> Response:
    try:
        site_row = site_to_change(session, site, scope=user.site_ids)
    except Forbidden:
        raise HTTPException(403) from None  # the form offers only the user's sites
    except NotFound:
        raise HTTPException(404) from None
    try:
        when = date.fromisoformat(scheduled_for) if scheduled_for else None
        insp = svc.create_inspection(
            session,
            site=site_row,
            template_key=template,
            lead_username=lead or user.username,
            team=team,
            scheduled_for=when,
            actor=user.username,
        )
    except (ServiceError, ValueError) as exc:
        session.rollback()
        _ = translator_for(request)
        if isinstance(exc, UnknownTemplate):  # the form offers only shipped checklists
            keys = ", ".join(sorted({key for key, _version in shipped_templates()}))
            message = _(
                "%(f_name)s: %(value)s is not one of %(allowed)s",
                f_name=_("Checklist"),
                value=repr(template),
                allowed=keys,
            )
        elif isinstance(exc, ValueError):  # the scheduled day
            message = _("%(name)s: write the date as dd/mm/yyyy", name=_("Scheduled for"))
        elif exc.msgid in _LEAD_REFUSED:
            message = _(
                "The lead inspector must be an active inspector or administrator who may see this site"
            )
        else:
            message = exc.text(request_language(request))
        return flash(RedirectResponse("/inspections", status_code=303), message, "error")
    session.commit()
    return RedirectResponse(f"/inspections/{insp.id}", status_code=303)


@router.get("/inspections/{inspection_id}")
def fill_page(request: Request, inspection_id: Id, user: Reader, session: DbSession) -> Response:
    try:
        insp = svc.get_inspection(session, inspection_id, scope=user.site_ids)
    except NotFound:
        raise HTTPException(404) from None
    view = svc.inspection_view(session, insp)
    site = session.get(Site, insp.site_id)
    pub = None
    if insp.status == "published":
        from collector.models.inspections import Publication

        pub = session.exec(select(Publication).where(Publication.inspection_id == insp.id)).first()
    editable = user.role in (Role.ADMIN, Role.INSPECTOR) and insp.status in ("scheduled", "in_progress")
    template = svc.template_of(insp)
    answerable = [i for _, i in template.items() if i.type in ANSWERABLE]
    rows = svc.answers(session, insp.id or 0)
    return render(
        request,
        "inspection_fill.html",
        {
            "insp": insp,
            "view": view,
            "rows": rows,
            "answered": sum(1 for i in answerable if i.id in rows and rows[i.id].value not in (None, "")),
            "answerable": len(answerable),
            "gaps": svc.signoff_gaps(session, insp) if editable else [],
            "labels": {i.id: i.label for _, i in template.items()},
            "stale_days": EVIDENCE_STALE_DAYS,
            "stale_before": utcnow() - timedelta(days=EVIDENCE_STALE_DAYS),
            "evidence": svc.parse_evidence,
            "check_titles": _check_titles(template),
            "action_rows": svc.list_actions(session, scope=None, inspection_id=insp.id),
            "today_date": local_today(),
            "site": site,
            "editable": editable,
            "pub": pub,
            "can_sign": editable and (user.username == insp.lead_username or user.role == Role.ADMIN),
            "can_publish": insp.status == "signed"
            and (user.username == insp.lead_username or user.role == Role.ADMIN),
            "share_links": publishing.share_links(session, pub) if pub else [],
            "can_share": user.role in (Role.ADMIN, Role.INSPECTOR),
        },
    )


@router.post("/inspections/{inspection_id}/prefill")
def refresh_from_agents(request: Request, inspection_id: Id, user: Inspector, session: DbSession) -> Response:
    """Re-read the site's latest agent data into the automatic items (answers changed by hand stay)."""
    try:
        insp = svc.get_inspection(session, inspection_id, scope=user.site_ids)
    except NotFound:
        raise HTTPException(404) from None
    _ = translator_for(request)
    target = RedirectResponse(f"/inspections/{inspection_id}", status_code=303)
    if insp.status not in ("scheduled", "in_progress"):
        return flash(target, _("This inspection is signed off; its evidence can no longer change"), "error")
    svc.prefill(session, insp, actor=user.username)
    session.commit()
    message = _(
        "Automatic items were refreshed from the agents' latest data; answers changed by hand were kept."
    )
    return flash(target, message, "ok")


@router.post("/inspections/{inspection_id}/signoff")
def sign_off(
    request: Request,
    inspection_id: Id,
    user: Inspector,
    session: DbSession,
    settings: Settings,
    signature_name: Annotated[str, Form()] = "",
) -> Response:
    target = RedirectResponse(f"/inspections/{inspection_id}", status_code=303)
    try:
        insp = svc.get_inspection(session, inspection_id, scope=user.site_ids)
        svc.sign_off(
            session,
            insp,
            actor=user.username,
            actor_role=user.role,
            signature_name=signature_name,
            due_days=settings.due_days,
        )
    except NotFound:
        raise HTTPException(404) from None
    except ServiceError as exc:
        session.rollback()
        return flash(target, _signoff_refusal(request, session, inspection_id, user, exc), "error")
    session.commit()
    return flash(target, translator_for(request)("Signed off"), "ok")


def _signoff_refusal(
    request: Request, session: DbSession, inspection_id: int, user: Principal, exc: ServiceError
) -> str:
    """The service speaks English; the page says why in the user's language where it knows the case."""
    _ = translator_for(request)
    insp = svc.get_inspection(session, inspection_id, scope=user.site_ids)
    gaps = svc.signoff_gaps(session, insp)
    if gaps:
        return _("Cannot sign off yet: %(n)s items still need attention (listed above the form)", n=len(gaps))
    if exc.msgid == "only the lead inspector or an administrator can sign off":
        return _("Only the lead inspector or an administrator can sign off")
    if exc.msgid == "type your full name to sign":
        return _("Type your full name to sign")
    return exc.text(request_language(request))


@router.post("/actions/{action_id}")
def update_action(
    request: Request,
    action_id: Id,
    user: Reader,
    session: DbSession,
    status: Annotated[str, Form()] = "",
    owner: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "/inspections",
) -> Response:
    from collector.models.inspections import Action

    action = session.get(Action, action_id)
    if action is None or not user.can_see_site(action.site_id):
        raise HTTPException(404)
    target = RedirectResponse(
        back if back.startswith("/") and not back.startswith("//") else "/inspections", status_code=303
    )
    try:
        svc.update_action(
            session, action, actor=user.username, actor_role=user.role, status=status or None, owner=owner
        )
    except ServiceError as exc:
        session.rollback()
        _ = translator_for(request)  # the service speaks English; the page says it in the user's language
        if exc.msgid == "only an inspector or an administrator verifies an action":
            message = _("Only an inspector or an administrator verifies an action")
        elif exc.msgid == "an action cannot go from %(action_status)s to %(new)s":
            message = _("This status change is not allowed (open → in progress → done → verified)")
        else:
            message = exc.text(request_language(request))
        return flash(target, message, "error")
    session.commit()
    return target


@router.post("/inspections/{inspection_id}/share")
def create_share_link(request: Request, inspection_id: Id, user: Inspector, session: DbSession) -> Response:
    """A link that opens the published report without logging in, until revoked (shown once)."""
    from collector.models.inspections import Publication

    try:
        insp = svc.get_inspection(session, inspection_id, scope=user.site_ids)
    except NotFound:
        raise HTTPException(404) from None
    pub = session.exec(select(Publication).where(Publication.inspection_id == insp.id)).first()
    if pub is None:
        raise HTTPException(404)
    token = publishing.create_share_link(session, pub, actor=user.username)
    session.commit()
    _ = translator_for(request)
    url = f"{str(request.base_url).rstrip('/')}/s/{token}"
    message = _("Share link created (copy it now, it is shown only once): %(url)s", url=url)
    return flash(RedirectResponse(f"/inspections/{inspection_id}#share", status_code=303), message, "ok")


@router.post("/share-links/{link_id}/revoke")
def revoke_share_link(request: Request, link_id: Id, user: Inspector, session: DbSession) -> Response:
    from collector.models.inspections import Publication, ShareLink

    link = session.get(ShareLink, link_id)
    pub = session.get(Publication, link.publication_id) if link else None
    if link is None or pub is None or not user.can_see_site(pub.site_id):
        raise HTTPException(404)
    publishing.revoke_share_link(session, link_id, actor=user.username)
    session.commit()
    _ = translator_for(request)
    target = RedirectResponse(f"/inspections/{pub.inspection_id}#share", status_code=303)
    return flash(target, _("Share link revoked"), "ok")


PLUGIN = PageSpec(
    router,
    nav=(Link(50, "Inspections", "/inspections"),),
    site_tabs=(Link(60, "Inspections", "/inspections?site={code}"),),
)
