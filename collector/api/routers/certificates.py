"""GET /api/v1/certificates: the certificate inventory, soonest expiry first, as the user's sites allow."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response

from collector.api.paging import set_page_headers, sort_query
from collector.api.schemas.certificates import CertificatePublic
from collector.http.deps import AnyUser, DbSession
from collector.http.params import OptionalIdQuery
from collector.plugins import RouterSpec
from collector.services import certificates as svc
from collector.services.errors import ServiceError
from collector.services.tables import base as tables
from collector.services.tables.certificates import TABLE as CERTIFICATES

router = APIRouter(tags=["certificates"])


@router.get("/certificates", response_model=list[CertificatePublic])
def certificates(
    request: Request,
    response: Response,
    user: AnyUser,
    session: DbSession,
    site: str | None = Query(None, description="Site code; a site outside the user's scope answers 404."),
    group: str | None = Query(None, description="Only the sites with this group label."),
    expiring_within_days: int | None = Query(
        None, ge=0, le=3650, description="Only those whose notAfter falls within N days (expired included)."
    ),
    role: Literal["signing", "ca", "tls"] | None = None,
    device_id: OptionalIdQuery = None,
    q: str | None = Query(None, description="Text in the holder or issuer, or a serial in hex."),
    sort: str | None = sort_query(CERTIFICATES),
    cursor: str | None = Query(None, description="X-Next-Cursor of the previous page."),
    limit: int = Query(1000, ge=1, le=1000),
) -> list[CertificatePublic]:
    """Certificates in keyset pages, soonest expiry first; follow ``X-Next-Cursor`` for the next page."""
    now = datetime.now(UTC)
    raw = {
        "site": site,
        "group": group,
        "days": str(expiring_within_days) if expiring_within_days is not None else None,
        "role": role,
        "device": str(device_id) if device_id is not None else None,
        "q": q,
    }
    try:
        filters = CERTIFICATES.clean(raw)
        page = tables.raw_page(
            session,
            CERTIFICATES,
            scope=user.site_ids,
            filters=filters,
            sort=sort,
            cursor=cursor,
            limit=limit,
            now=now,
        )
    except ServiceError as exc:
        raise HTTPException(exc.status_code, str(exc)) from None
    set_page_headers(request, response, page)
    rows = [svc.CertificateRow(c, d, s) for c, d, s in page.rows]
    return [
        CertificatePublic(
            site=r.site.code,
            device_id=r.device.id or 0,
            hostname=r.device.hostname,
            days_left=r.days_left(now),
            **r.cert.model_dump(
                include={
                    "role",
                    "sha256",
                    "subject",
                    "subject_cn",
                    "issuer",
                    "issuer_cn",
                    "serial",
                    "not_before",
                    "not_after",
                    "key_type",
                    "key_size",
                    "signature_algorithm",
                    "location_kind",
                    "location_path",
                    "location_label",
                    "key_on_token",
                    "key_provider",
                    "status",
                    "reasons",
                    "revoked_at",
                    "last_seen_at",
                }
            ),
        )
        for r in rows
    ]


PLUGIN = RouterSpec(router)
