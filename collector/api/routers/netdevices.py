"""Network devices: configuration history and diffs (GET /devices/{id}/configs...) and the managed
device list (admins: /netdevices). Passwords are write-only: no response ever carries one."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict, Field

from collector.api.schemas.netdevices import (
    ConfigDiffPublic,
    ConfigVersionPublic,
    ConfigVersionText,
    ManagedOut,
)
from collector.http.deps import AdminUser, AnyUser, DbSession, Principal
from collector.http.params import Id, IdQuery
from collector.models.netdevices import ManagedNetDevice
from collector.plugins import RouterSpec
from collector.services import devices as device_svc
from collector.services import netdevices as svc
from collector.services.devices import site_to_change
from collector.services.errors import Conflict, NotFound, ServiceError
from inventory.netdevices.facts import PlatformChoice

router = APIRouter(tags=["network devices"])


def _network_device(session: Any, device_id: int, user: Principal) -> Any:
    try:
        device = device_svc.get_device(session, device_id, scope=user.site_ids)
    except NotFound:
        raise HTTPException(404, f"no device {device_id}") from None
    if device.kind != "network_device":
        raise HTTPException(404, f"device {device_id} is not a network device")
    return device


def _public(v: Any) -> dict[str, Any]:
    return {k: getattr(v, k) for k in ConfigVersionPublic.model_fields}


@router.get("/devices/{device_id}/configs", response_model=list[ConfigVersionPublic])
def list_configs(device_id: Id, user: AnyUser, session: DbSession) -> list[dict[str, Any]]:
    """Every configuration version of a network device, newest first (secrets scrubbed by the agent)."""
    _network_device(session, device_id, user)
    return [_public(v) for v in svc.config_versions(session, device_id)]


@router.get("/devices/{device_id}/configs/diff", response_model=ConfigDiffPublic)
def diff_configs(
    device_id: Id,
    user: AnyUser,
    session: DbSession,
    a: IdQuery,
    b: IdQuery,
) -> dict[str, Any]:
    _network_device(session, device_id, user)
    try:
        d = svc.diff_versions(session, device_id=device_id, a=a, b=b)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    return {"a": a, "b": b, "added": d.added, "removed": d.removed, "diff": d.unified}


@router.get("/devices/{device_id}/configs/{version_id:int}", response_model=ConfigVersionText)
def get_config(device_id: Id, version_id: Id, user: AnyUser, session: DbSession) -> dict[str, Any]:
    _network_device(session, device_id, user)
    try:
        v = svc.get_version(session, device_id, version_id)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    return {**_public(v), "text": v.text}


# ---- managed device list (admins) --------------------------------------------------------------


class ManagedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=255)
    host: str = Field(min_length=1, max_length=255)
    port: int = Field(default=22, ge=1, le=65535)
    platform: PlatformChoice = "auto"
    username: str = Field(min_length=1, max_length=255)
    password: str | None = Field(default=None, min_length=1, max_length=500, description="write-only")


def _out(row: Any, site: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "site": site,
        "name": row.name,
        "host": row.host,
        "port": row.port,
        "platform": row.platform,
        "username": row.username,
        "has_password": row.password_enc is not None,
        "updated_at": row.updated_at,
    }


def _key(request: Request) -> bytes:
    try:
        return svc.load_key(request.app.state.settings.data_dir)
    except Conflict as exc:
        raise HTTPException(500, str(exc)) from None


@router.get("/netdevices", response_model=list[ManagedOut])
def list_managed(user: AdminUser, session: DbSession, site: str | None = None) -> list[dict[str, Any]]:
    """The managed network device list (what the polling agents should poll)."""
    rows = svc.list_managed(session, site_code=site)
    return [_out(row, code) for row, code in rows if user.can_see_site(row.site_id)]


def _check_scope(session: Any, user: Principal, site_code: str, managed_id: int | None) -> None:
    """An admin scoped to some sites manages only their devices: another site's device is 404, as if
    absent; naming another site for a device is 403."""
    if user.site_ids is None:
        return
    if managed_id is not None:
        row = session.get(ManagedNetDevice, managed_id)
        if row is None or not user.can_see_site(row.site_id):
            raise HTTPException(404, f"no managed network device {managed_id}")
    try:
        site_to_change(session, site_code, scope=user.site_ids)
    except ServiceError as exc:
        raise HTTPException(exc.status_code, str(exc)) from None


def _save(
    request: Request, session: Any, user: Principal, body: ManagedIn, device_id: int | None
) -> dict[str, Any]:
    _check_scope(session, user, body.site, device_id)
    try:
        row = svc.upsert_managed(
            session,
            key=_key(request) if body.password else b"",
            site_code=body.site,
            name=body.name,
            host=body.host,
            port=body.port,
            platform=body.platform,
            username=body.username,
            password=body.password,
            actor=user.username,
            device_id=device_id,
        )
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except Conflict as exc:
        raise HTTPException(409, str(exc)) from None
    session.commit()
    return _out(row, body.site)


@router.post("/netdevices", response_model=ManagedOut, status_code=status.HTTP_201_CREATED)
def create_managed(request: Request, body: ManagedIn, user: AdminUser, session: DbSession) -> dict[str, Any]:
    return _save(request, session, user, body, None)


@router.put("/netdevices/{managed_id}", response_model=ManagedOut)
def update_managed(
    request: Request, managed_id: Id, body: ManagedIn, user: AdminUser, session: DbSession
) -> dict[str, Any]:
    return _save(request, session, user, body, managed_id)


@router.delete("/netdevices/{managed_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_managed(managed_id: Id, user: AdminUser, session: DbSession) -> None:
    row = session.get(ManagedNetDevice, managed_id)
    if row is not None and not user.can_see_site(row.site_id):
        raise HTTPException(404, f"no managed network device {managed_id}")
    try:
        svc.delete_managed(session, device_id=managed_id, actor=user.username)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    session.commit()


PLUGIN = RouterSpec(router)
