"""GET /api/v1/certificates: the certificate inventory, soonest expiry first, as the user's sites allow."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel

from collector.api.deps import AnyUser, DbSession
from collector.api.params import OptionalIdQuery
from collector.services import certificates as svc
from collector.services.devices import site_in_scope
from collector.services.errors import NotFound

router = APIRouter(tags=["certificates"])


class CertificatePublic(BaseModel):
    site: str
    device_id: int
    hostname: str
    role: str  # signing, ca, tls
    sha256: str
    subject: str
    subject_cn: str | None
    issuer: str
    issuer_cn: str | None
    serial: str
    not_before: datetime
    not_after: datetime
    days_left: int
    key_type: str
    key_size: int | None
    signature_algorithm: str
    location_kind: str
    location_path: str
    location_label: str
    key_on_token: bool | None
    key_provider: str | None
    status: str | None  # validation status of a signing certificate
    reasons: list[str]
    revoked_at: datetime | None
    last_seen_at: datetime


@router.get("/certificates", response_model=list[CertificatePublic])
def certificates(
    user: AnyUser,
    session: DbSession,
    site: str | None = Query(None, description="Site code; a site outside the user's scope answers 404."),
    expiring_within_days: int | None = Query(
        None, ge=0, le=3650, description="Only those whose notAfter falls within N days (expired included)."
    ),
    role: Literal["signing", "ca", "tls"] | None = None,
    device_id: OptionalIdQuery = None,
    limit: int = Query(1000, ge=1, le=5000),
) -> list[CertificatePublic]:
    site_id = None
    if site:
        try:
            site_id = site_in_scope(session, site, scope=user.site_ids).id
        except NotFound as exc:
            raise HTTPException(404, str(exc)) from None
    now = datetime.now(UTC)
    rows = svc.list_certificates(
        session,
        scope=user.site_ids,
        site_id=site_id,
        device_id=device_id,
        expiring_within_days=expiring_within_days,
        roles=[role] if role else None,
        now=now,
        limit=limit,
    )
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
