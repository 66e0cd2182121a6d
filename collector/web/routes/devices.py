"""Devices: the city's device table, and one device's page in tabs (summary with compliance first,
hardware, software, checks; other rooms add theirs: certificates, history...)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlmodel import col, select

from collector.http.deps import AnyUser, DbSession, Principal, Settings
from collector.http.params import Id
from collector.models.assets import Asset
from collector.models.core import Agent, Device
from collector.models.search import DeviceAddress
from collector.plugins import Link, PageSpec
from collector.services import console
from collector.services import devices as svc
from collector.services.errors import NotFound
from collector.services.tables.device_software import TABLE as DEVICE_SOFTWARE
from collector.services.tables.devices import TABLE as DEVICES
from collector.web.i18n import translator
from collector.web.setup import device_tabs, extra_context, render, request_language
from collector.web.tables import table_view
from inventory.facts import Facts

router = APIRouter(include_in_schema=False)

CHECK_STATUSES = ("fail", "unknown", "error", "pass", "not_applicable", "skipped")


def _device(session: Any, device_id: int, user: Principal) -> Device:
    try:
        return svc.get_device(session, device_id, scope=user.site_ids)
    except NotFound:
        # Same answer for "missing" and "another site's": nothing is disclosed.
        raise HTTPException(404) from None


def _frame(session: Any, device: Device, user: Principal) -> dict[str, Any]:
    """What every tab of the device page needs: the device, its site, the tabs."""
    return {
        "device": device,
        "site": console.site_of(session, device.site_id),
        "tabs": device_tabs(user, device.id or 0),
    }


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


def _check_titles(lang: str) -> dict[str, str]:
    try:
        from checks.catalog import load_catalog

        _ = translator(lang)
        return {cid: _(c.title) for cid, c in load_catalog().items()}
    except Exception:  # a broken catalog file must not hide the device: show check ids instead
        return {}


@router.get("/devices")
def devices_page(request: Request, user: AnyUser, session: DbSession, settings: Settings) -> Response:
    view, status = table_view(
        request,
        session,
        user,
        DEVICES,
        path="/devices",
        export_name="devices",
        options={"stale_minutes": settings.stale_agent_minutes},
    )
    package = None
    if view.filters.get("package", "").isdigit():
        from collector.models.search import SoftwarePackage

        package = session.get(SoftwarePackage, int(view.filters["package"]))
    return render(request, "devices.html", {"v": view, "package": package}, status_code=status)


@router.get("/devices/{device_id}")
def summary_tab(request: Request, device_id: Id, user: AnyUser, session: DbSession) -> Response:
    device = _device(session, device_id, user)
    facts, unreadable = typed_sections(
        {
            k: v
            for k, v in svc.device_facts(session, device_id).items()
            if k in ("system", "os", "cpu", "memory")
        }
    )
    results = svc.device_results(session, device_id)
    counts = {s: sum(1 for r in results if r.status == s) for s in CHECK_STATUSES}
    addresses = session.exec(
        select(DeviceAddress.value)
        .where(DeviceAddress.device_id == device_id, DeviceAddress.kind == "ip")
        .order_by(col(DeviceAddress.value))
    ).all()
    context: dict[str, Any] = {
        **_frame(session, device, user),
        "agent": session.get(Agent, device.agent_id) if device.agent_id else None,
        "asset": session.get(Asset, device_id),
        "facts": facts,
        "unreadable": unreadable,
        "counts": counts,
        "addresses": list(addresses),
        "clones": console.clones_of(session, device_id),
    }
    context.update(extra_context("device_context", session, device, user))
    return render(request, "device.html", context)


@router.get("/devices/{device_id}/hardware")
def hardware_tab(request: Request, device_id: Id, user: AnyUser, session: DbSession) -> Response:
    device = _device(session, device_id, user)
    facts, unreadable = typed_sections(svc.device_facts(session, device_id))
    context = {**_frame(session, device, user), "facts": facts, "unreadable": unreadable}
    return render(request, "device_hardware.html", context)


@router.get("/devices/{device_id}/software")
def software_tab(request: Request, device_id: Id, user: AnyUser, session: DbSession) -> Response:
    """The programs, searchable and paged; an htmx request (live search) gets the table alone."""
    device = _device(session, device_id, user)
    view, status = table_view(
        request,
        session,
        user,
        DEVICE_SOFTWARE,
        path=f"/devices/{device_id}/software",
        fixed={"device": str(device_id)},
        export_name=f"devices/{device_id}/software",
    )
    context = {**_frame(session, device, user), "v": view}
    if request.headers.get("HX-Request") == "true":
        return render(request, "_device_software.html", context, status_code=status)
    return render(request, "device_software.html", context, status_code=status)


@router.get("/devices/{device_id}/checks")
def checks_tab(
    request: Request, device_id: Id, user: AnyUser, session: DbSession, status: str | None = None
) -> Response:
    device = _device(session, device_id, user)
    results = svc.device_results(session, device_id)
    counts = {s: sum(1 for r in results if r.status == s) for s in CHECK_STATUSES}
    wanted = status if status in CHECK_STATUSES else None
    shown = [r for r in results if wanted is None or r.status == wanted]
    # Failures first, then what could not be judged, then passes: what needs doing is on top.
    order = {s: i for i, s in enumerate(CHECK_STATUSES)}
    shown.sort(key=lambda r: (order.get(r.status, 9), r.check_id, r.target))
    context = {
        **_frame(session, device, user),
        "results": shown,
        "counts": counts,
        "status": wanted,
        "statuses": CHECK_STATUSES,
        "titles": _check_titles(request_language(request)),
    }
    return render(request, "device_checks.html", context)


PLUGIN = PageSpec(
    router,
    nav=(Link(15, "Devices", "/devices"),),
    # The device page's own tabs; others come from other rooms' modules (certificates 40, history 70).
    device_tabs=(
        Link(10, "Summary", "/devices/{id}"),
        Link(20, "Hardware", "/devices/{id}/hardware"),
        Link(30, "Software", "/devices/{id}/software"),
        Link(35, "Checks", "/devices/{id}/checks"),
    ),
)
