"""GET /api/v1/search?q=: hostnames, serials, MACs, IPs, asset tags, software (``winrar<6.23``),
certificates and network devices, grouped by kind, within the caller's sites."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query

from collector.api.schemas.search import Kind, SearchHitPublic, SearchResponse, VersionQueryPublic
from collector.http.deps import AnyUser, DbSession
from collector.http.params import explained_query
from collector.plugins import RouterSpec
from collector.services import search as svc
from collector.services.errors import ServiceError

# At least two characters besides spaces (spaces are folded), and no NUL (no database stores one); the
# pattern holds the minimum length, so that a short query is refused with the pattern's clear message.
TWO_CHARACTERS = r"^\s*[^\s\x00][^\x00]*[^\s\x00]\s*$"
router = APIRouter(tags=["search"])


def _short_query(q: str) -> str:
    if "\x00" in q:
        return "the search text cannot hold a NUL character"
    return f"type at least {svc.MIN_LENGTH} characters (besides spaces) to search"


@router.get("/search", response_model=SearchResponse)
def search(
    user: AnyUser,
    session: DbSession,
    q: str = explained_query(
        ...,
        max_length=svc.MAX_LENGTH,
        pattern=TWO_CHARACTERS,
        explain=_short_query,
        description="Text, or name OP version (winrar<6.23).",
    ),
    kind: list[Kind] | None = Query(None, description="Only these kinds (repeatable)."),
    limit: int = Query(20, ge=1, le=200, description="At most this many hits per kind."),
) -> SearchResponse:
    try:
        result = svc.search(session, q=q, scope=user.site_ids, limit=limit, kinds=kind or svc.KINDS)
    except ServiceError as exc:
        raise HTTPException(exc.status_code, str(exc)) from None
    vq = result.version_query
    return SearchResponse(
        query=result.query,
        version_query=VersionQueryPublic(name=vq.name, op=vq.op, version=vq.version) if vq else None,
        groups={
            k: [
                SearchHitPublic(
                    kind=h.kind,
                    title=h.title,
                    href=h.href,
                    site=h.site_code or None,
                    site_name=h.site_name or None,
                    matched=h.matched,
                    value=h.value,
                    device_id=h.device_id,
                    devices=h.extra.get("devices"),
                    vendor=h.extra.get("vendor"),
                    package_id=h.extra.get("package_id"),
                    not_after=h.extra.get("not_after"),
                )
                for h in hits
            ]
            for k, hits in result.groups.items()
        },
        more=result.more,
    )


PLUGIN = RouterSpec(router)
