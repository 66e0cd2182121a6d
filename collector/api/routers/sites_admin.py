"""Creating, renaming and merging sites: city administrators only (an administrator of all sites)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from collector.api.schemas.sites_admin import SiteMerged, SiteOut
from collector.http.deps import AdminUser, DbSession, Principal
from collector.plugins import RouterSpec
from collector.services import site_admin
from collector.services.errors import ServiceError
from collector.services.sites import CODE_RE

router = APIRouter(tags=["sites"])


class SiteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64, pattern=CODE_RE.pattern)
    name: str = Field(min_length=1, max_length=255)
    address: str | None = Field(default=None, max_length=500)


class SiteRename(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=255)
    address: str | None = Field(default=None, max_length=500)


class SiteMerge(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1, max_length=64, description="the site that is absorbed (deleted)")
    target: str = Field(min_length=1, max_length=64, description="the site that receives everything")


def city_admin(user: Principal) -> None:
    """Sites are the city's list: an administrator scoped to some sites may not change it."""
    if user.site_ids is not None:
        raise HTTPException(403, "only an administrator of all sites may create, rename or merge sites")


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.post("/sites", response_model=SiteOut, status_code=201)
def create(body: SiteIn, request: Request, user: AdminUser, session: DbSession) -> SiteOut:
    city_admin(user)
    try:
        site = site_admin.add_site(
            session,
            code=body.code,
            name=body.name,
            address=body.address,
            actor=user.username,
            addr=_address(request),
        )
        session.commit()
    except ServiceError as exc:
        session.rollback()
        raise HTTPException(exc.status_code, str(exc)) from None
    return SiteOut(code=site.code, name=site.name, address=site.address)


@router.put("/sites/{code}", response_model=SiteOut)
def rename(code: str, body: SiteRename, request: Request, user: AdminUser, session: DbSession) -> SiteOut:
    city_admin(user)
    try:
        site = site_admin.rename_site(
            session,
            code=code,
            name=body.name,
            address=body.address,
            actor=user.username,
            addr=_address(request),
        )
        session.commit()
    except ServiceError as exc:
        session.rollback()
        raise HTTPException(exc.status_code, str(exc)) from None
    return SiteOut(code=site.code, name=site.name, address=site.address)


@router.post("/sites/merge", response_model=SiteMerged)
def merge(body: SiteMerge, request: Request, user: AdminUser, session: DbSession) -> SiteMerged:
    """Everything of ``source`` (devices, agents, findings, inspections...) moves to ``target``;
    ``source`` is deleted."""
    city_admin(user)
    try:
        done = site_admin.merge_sites(
            session,
            source_code=body.source,
            target_code=body.target,
            actor=user.username,
            addr=_address(request),
        )
        session.commit()
    except ServiceError as exc:
        session.rollback()
        raise HTTPException(exc.status_code, str(exc)) from None
    return SiteMerged(
        source=body.source,
        target=body.target,
        moved=done.counts,
        renamed_netdevices=done.renamed_netdevices,
    )


PLUGIN = RouterSpec(router)
