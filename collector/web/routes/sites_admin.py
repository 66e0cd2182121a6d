"""Sites in the console: the list, create, rename, and merge two sites (city administrators change
them; an administrator scoped to some sites sees its own in the list and changes nothing)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import func
from sqlmodel import col, select

from collector.http.deps import AdminUser, DbSession, Forbidden, Principal
from collector.models.core import Agent
from collector.plugins import Link, PageSpec
from collector.services import site_admin
from collector.services.devices import list_sites, page_sites, site_in_scope
from collector.services.errors import Conflict, NotFound, ServiceError
from collector.services.sites import CODE_RE
from collector.web.setup import client_address, flash, redirect, render, request_language, translator_for

router = APIRouter(include_in_schema=False)


def _city_admin(user: Principal) -> None:
    if user.site_ids is not None:
        raise Forbidden()


def _sites_page(
    request: Request,
    session: Any,
    user: Principal,
    *,
    error: str | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    # Keyset pages of 100 sites (3,321 communes in one page took a second); figures for the page only.
    cursor = request.query_params.get("cursor") or None
    try:
        page = page_sites(session, scope=user.site_ids, cursor=cursor, limit=100, with_total=False)
    except ServiceError:
        page = page_sites(session, scope=user.site_ids, limit=100, with_total=False)
    rows = page.rows
    ids = [r.site.id for r in rows]
    agents: dict[int, int] = dict(
        session.exec(
            select(Agent.site_id, func.count())
            .where(col(Agent.site_id).in_(ids), col(Agent.revoked_at).is_(None))
            .group_by(col(Agent.site_id))
        ).all()
    )
    return render(
        request,
        "admin/sites.html",
        {
            "rows": rows,
            "next_href": f"/admin/sites?cursor={page.next_cursor}" if page.next_cursor else None,
            "first_href": "/admin/sites" if cursor else None,
            "agents": agents,
            "can_change": user.site_ids is None,
            "error": error,
            "form": form or {},
        },
        status_code=status,
    )


@router.get("/admin/sites")
def sites_page(request: Request, user: AdminUser, session: DbSession) -> Response:
    return _sites_page(request, session, user)


@router.post("/admin/sites")
def create_site(
    request: Request,
    user: AdminUser,
    session: DbSession,
    code: str = Form("", max_length=64),
    name: str = Form("", max_length=255),
    address: str = Form("", max_length=500),
) -> Response:
    _city_admin(user)
    _ = translator_for(request)
    form = {"code": code, "name": name, "address": address}
    error = None
    if not CODE_RE.match(code.strip()):
        error = _("The code must be 1 to 64 letters, digits, '.', '_' or '-'.")
    elif not name.strip():
        error = _("Enter a name.")
    if error is None:
        try:
            site_admin.add_site(
                session,
                code=code.strip(),
                name=name,
                address=address,
                actor=user.username,
                addr=client_address(request),
            )
            session.commit()
        except Conflict:
            session.rollback()
            error = _("A site with this code already exists.")
        except ServiceError as exc:
            session.rollback()
            error = exc.text(request_language(request))
    if error is not None:
        return _sites_page(request, session, user, error=error, form=form, status=400)
    return flash(redirect("/admin/sites"), _("Site %(code)s was created.", code=code.strip()), "ok")


@router.get("/admin/sites/merge")
def merge_page(
    request: Request, user: AdminUser, session: DbSession, source: str = "", target: str = ""
) -> Response:
    _city_admin(user)
    _ = translator_for(request)
    preview, error = None, None
    if source and target:
        try:
            preview = site_admin.merge_preview(session, source_code=source, target_code=target)
        except NotFound:
            error = _("Choose two existing sites.")
        except ServiceError:
            error = _("Choose two different sites.")
    return render(
        request,
        "admin/site_merge.html",
        {
            "sites": [r.site for r in list_sites(session, scope=None)],
            "source": source,
            "target": target,
            "preview": preview,
            "error": error,
        },
        status_code=400 if error else 200,
    )


@router.post("/admin/sites/merge")
def merge(
    request: Request,
    user: AdminUser,
    session: DbSession,
    source: str = Form(""),
    target: str = Form(""),
    confirm: str = Form(""),
) -> Response:
    _city_admin(user)
    _ = translator_for(request)
    again = "/admin/sites/merge?" + urlencode({"source": source, "target": target})
    if confirm.strip() != target:
        return flash(
            redirect(again), _("Type the code of the site that stays to confirm the merge."), "error"
        )
    try:
        done = site_admin.merge_sites(
            session, source_code=source, target_code=target, actor=user.username, addr=client_address(request)
        )
        session.commit()
    except NotFound:
        session.rollback()
        return flash(redirect("/admin/sites/merge"), _("Choose two existing sites."), "error")
    except ServiceError as exc:
        session.rollback()
        return flash(redirect(again), exc.text(request_language(request)), "error")
    message = _(
        "Site %(source)s was merged into %(target)s: %(devices)s device(s) and %(agents)s agent(s) moved.",
        source=source,
        target=target,
        devices=done.counts.get("device", 0),
        agents=done.counts.get("agent", 0),
    )
    return flash(redirect(f"/sites/{quote(target, safe='')}"), message, "ok")


@router.get("/admin/sites/{code}")
def edit_page(request: Request, code: str, user: AdminUser, session: DbSession) -> Response:
    try:
        site = site_in_scope(session, code, scope=user.site_ids)
    except NotFound:
        raise HTTPException(404) from None
    return render(request, "admin/site_edit.html", {"site": site, "can_change": user.site_ids is None})


@router.post("/admin/sites/{code}")
def rename(
    request: Request,
    code: str,
    user: AdminUser,
    session: DbSession,
    name: str = Form("", max_length=255),
    address: str = Form("", max_length=500),
) -> Response:
    _city_admin(user)
    _ = translator_for(request)
    if not name.strip():
        return flash(redirect(f"/admin/sites/{quote(code, safe='')}"), _("Enter a name."), "error")
    try:
        site = site_admin.rename_site(
            session, code=code, name=name, address=address, actor=user.username, addr=client_address(request)
        )
        session.commit()
    except NotFound:
        session.rollback()
        raise HTTPException(404) from None
    except ServiceError as exc:
        session.rollback()
        return flash(
            redirect(f"/admin/sites/{quote(code, safe='')}"), exc.text(request_language(request)), "error"
        )
    return flash(redirect("/admin/sites"), _("Site %(code)s was renamed.", code=site.code), "ok")


PLUGIN = PageSpec(
    router,
    nav=(Link(89, "Sites", "/admin/sites"),),
)
