"""Network devices in the console: a panel on the device page (facts, poll problems, configuration
history with a compare form), a configuration version page, a diff page, and the site page's list."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from collector.http.deps import AnyUser, DbSession, Principal
from collector.http.params import Id, IdQuery
from collector.models.core import Device, DeviceSection, Site
from collector.plugins import PageSpec
from collector.services import console
from collector.services import devices as device_svc
from collector.services import netdevices as svc
from collector.services.errors import NotFound
from collector.web.setup import device_tabs, render
from inventory.netdevices.facts import NetworkDeviceFacts

router = APIRouter(include_in_schema=False)


def _device_facts(session: Any, device_id: int) -> NetworkDeviceFacts | None:
    row = session.get(DeviceSection, (device_id, "device"))
    if row is None:
        return None
    try:
        return NetworkDeviceFacts.model_validate(row.data)
    except ValueError:
        return None


def device_context(session: Any, device: Device, principal: Principal) -> dict[str, Any]:
    if device.kind != "network_device":
        return {}
    return {
        "netdev": _device_facts(session, device.id or 0),
        "netdev_versions": svc.config_versions(session, device.id or 0),
    }


def site_context(session: Any, site: Site, principal: Principal) -> dict[str, Any]:
    return {"netdevices": svc.site_network_devices(session, site.id or 0)}


def _network_device(session: Any, device_id: int, user: Principal) -> Device:
    try:
        device = device_svc.get_device(session, device_id, scope=user.site_ids)
    except NotFound:
        raise HTTPException(404) from None
    if device.kind != "network_device":
        raise HTTPException(404)
    return device


def _frame(session: Any, device: Device, user: Principal) -> dict[str, Any]:
    return {
        "device": device,
        "site": console.site_of(session, device.site_id),
        "tabs": device_tabs(user, device.id or 0),
    }


@router.get("/devices/{device_id}/configs/diff")
def config_diff_page(
    request: Request, device_id: Id, a: IdQuery, b: IdQuery, user: AnyUser, session: DbSession
) -> Response:
    device = _network_device(session, device_id, user)
    try:
        diff = svc.diff_versions(session, device_id=device_id, a=a, b=b)
    except NotFound:
        raise HTTPException(404) from None
    return render(request, "netdevice_diff.html", {**_frame(session, device, user), "diff": diff})


@router.get("/devices/{device_id}/configs/{version_id}")
def config_page(
    request: Request, device_id: Id, version_id: Id, user: AnyUser, session: DbSession
) -> Response:
    device = _network_device(session, device_id, user)
    try:
        version = svc.get_version(session, device_id, version_id)
    except NotFound:
        raise HTTPException(404) from None
    return render(request, "netdevice_config.html", {**_frame(session, device, user), "version": version})


PLUGIN = PageSpec(
    router,
    site_context=(site_context,),
    device_context=(device_context,),
)
