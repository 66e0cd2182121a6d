"""The device page's "quarantined reports" panel (templates/device_extras/quarantine.html)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from collector.api.deps import Principal
from collector.models.core import Device
from collector.services.quarantine import device_quarantine

router = APIRouter(include_in_schema=False)  # no page of its own: a panel on the device page


def _device_context(session: Any, device: Device, principal: Principal) -> dict[str, Any]:
    return {"quarantine": device_quarantine(session, device_id=device.id or 0)}


DEVICE_CONTEXT = [_device_context]
