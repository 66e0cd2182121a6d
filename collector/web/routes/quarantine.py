"""The device page's "quarantined reports" panel (templates/device_extras/quarantine.html)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from collector.http.deps import Principal
from collector.models.core import Device
from collector.plugins import PageSpec
from collector.services.quarantine import device_quarantine

router = APIRouter(include_in_schema=False)  # no page of its own: a panel on the device page


def _device_context(session: Any, device: Device, principal: Principal) -> dict[str, Any]:
    return {"quarantine": device_quarantine(session, device_id=device.id or 0)}


PLUGIN = PageSpec(
    router,
    device_context=(_device_context,),
)
