"""One device's page: identity (with the clone flag), hardware, OS, disks, batteries, interfaces,
installed software (searchable), check results and report history."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from collector.api.deps import AnyUser, DbSession, Principal
from collector.api.params import Id
from collector.models.core import Agent, Device
from collector.services import console
from collector.services import devices as svc
from collector.services.errors import NotFound
from collector.web.setup import device_tabs, extra_context, render, request_language
from inventory.facts import Facts

router = APIRouter(include_in_schema=False)

DEVICE_TABS = [(10, "Details", "/devices/{id}", ("admin", "technician", "inspector", "planner", "viewer"))]
SOFTWARE_LIMIT = 1000


def _device(session: Any, device_id: int, user: Principal) -> Device:
    try:
        return svc.get_device(session, device_id, scope=user.site_ids)
    except NotFound:
        # Same answer for "missing" and "another site's": nothing is disclosed.
        raise HTTPException(404) from None


def typed_sections(raw: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Each stored section as its fact model (dates as dates); unreadable ones are named, not fatal."""
    typed: dict[str, Any] = {}
    unreadable: list[str] = []
    for name, data in raw.items():
        if name not in Facts.model_fields:
            continue
        try:
            typed[name] = getattr(Facts.model_validate({name: data}), name)
        except ValueError:
            unreadable.append(name)
    return typed, unreadable


def filter_software(items: list[Any] | None, q: str | None) -> list[Any]:
    items = items or []
    needle = (q or "").strip().lower()
    if needle:
        items = [s for s in items if needle in s.name.lower() or needle in (s.vendor or "").lower()]
    return sorted(items, key=lambda s: s.name.lower())


def _check_titles(lang: str) -> dict[str, str]:
    try:
        from checks.catalog import load_catalog

        return {cid: c.title.get(lang) for cid, c in load_catalog().items()}
    except Exception:  # a broken catalog file must not hide the device: show check ids instead
        return {}


@router.get("/devices/{device_id}")
def device_page(
    request: Request, device_id: Id, user: AnyUser, session: DbSession, q: str | None = None
) -> Response:
    device = _device(session, device_id, user)
    facts, unreadable = typed_sections(svc.device_facts(session, device_id))
    software = filter_software(facts.get("software"), q)
    context: dict[str, Any] = {
        "device": device,
        "site": console.site_of(session, device.site_id),
        "agent": session.get(Agent, device.agent_id) if device.agent_id else None,
        "facts": facts,
        "unreadable": unreadable,
        "software": software[:SOFTWARE_LIMIT],
        "software_total": len(facts.get("software") or []),
        "software_matched": len(software),
        "q": q or "",
        "results": svc.device_results(session, device_id),
        "titles": _check_titles(request_language(request)),
        "reports": svc.device_reports(session, device_id, limit=50),
        "clones": console.clones_of(session, device_id),
        "tabs": device_tabs(user, device_id),
    }
    context.update(extra_context("DEVICE_CONTEXT", session, device, user))
    return render(request, "device.html", context)


@router.get("/devices/{device_id}/software")
def device_software(
    request: Request, device_id: Id, user: AnyUser, session: DbSession, q: str | None = None
) -> Response:
    """The software table alone, for the live search on the device page."""
    _device(session, device_id, user)
    facts, _unreadable = typed_sections(
        {k: v for k, v in svc.device_facts(session, device_id).items() if k == "software"}
    )
    items = filter_software(facts.get("software"), q)
    return render(
        request,
        "_software.html",
        {
            "software": items[:SOFTWARE_LIMIT],
            "software_total": len(facts.get("software") or []),
            "software_matched": len(items),
            "q": q or "",
        },
    )
