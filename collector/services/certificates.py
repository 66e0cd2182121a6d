"""Certificate inventory across devices and sites: kept in step with reports, queried by scope.

Keyword-only functions, no HTTP. ``sync_device`` mirrors one device's ``certificates`` section into
rows (called by the ingest hook, inside the ingest transaction); the list functions answer the API,
the calendar page and the site/device tabs.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, col, delete, select

from collector.localtime import local_date
from collector.models.certificates import (
    CertificateRole,
    DeviceCertificate,
    SignedDocumentRow,
    TlsEndpointRow,
)
from collector.models.core import Device, Site
from collector.services import paging
from inventory.certificates.facts import CertificateFacts, FoundCertificate, LocationKind

Scope = frozenset[int] | None


def _role(c: FoundCertificate) -> str | None:
    if c.location.kind is LocationKind.SYSTEM:
        return None  # trust-store roots: the same on every PC, not inventoried
    if c.validation is not None:
        return CertificateRole.SIGNING
    return CertificateRole.CA if c.is_ca else CertificateRole.SIGNING


def _cert_values(
    c: FoundCertificate, role: str, path: str | None = None, kind: str | None = None
) -> dict[str, Any]:
    v = c.validation
    return {
        "role": role,
        "sha256": c.sha256,
        "subject": c.subject[:1000],
        "subject_cn": (c.subject_cn or "")[:255] or None,
        "issuer": c.issuer[:1000],
        "issuer_cn": (c.issuer_cn or "")[:255] or None,
        "serial": c.serial[:128],
        "not_before": c.not_before,
        "not_after": c.not_after,
        "key_type": c.key_type[:16],
        "key_size": c.key_size,
        "signature_algorithm": c.signature_algorithm[:64],
        "signature_hash": c.signature_hash,
        "key_usage": list(c.key_usage),
        "location_kind": kind or c.location.kind.value,
        "location_path": (path or c.location.path)[:1000],
        "location_label": (c.location.label or "")[:255],
        "key_on_token": c.key_on_token,
        "key_provider": c.key_provider,
        "status": v.status.value if v else None,
        "reasons": list(v.reasons) if v else [],
        "trusted": v.trusted if v else None,
        "revocation": v.revocation.value if v else None,
        "revoked_at": v.revoked_at if v else None,
    }


def sync_device(session: Session, *, device: Device, data: Any, now: datetime | None = None) -> None:
    """Replace the device's certificate rows with what ``data`` (a certificates section) holds."""
    now = now or datetime.now(UTC)
    assert device.id is not None
    if data is None:
        facts = CertificateFacts()
    else:
        try:
            facts = CertificateFacts.model_validate(data)
        except ValidationError:
            return  # an unreadable section leaves the last good inventory in place
    wanted: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for c in facts.certificates:
        role = _role(c)
        if role is None:
            continue
        values = _cert_values(c, role)
        wanted[
            (values["sha256"], values["location_kind"], values["location_path"], values["location_label"])
        ] = values
    for e in facts.tls_endpoints:
        if e.leaf is not None:
            values = _cert_values(e.leaf, CertificateRole.TLS, path=e.target, kind=LocationKind.TLS.value)
            wanted[
                (values["sha256"], values["location_kind"], values["location_path"], values["location_label"])
            ] = values
    existing = session.exec(select(DeviceCertificate).where(DeviceCertificate.device_id == device.id)).all()
    for row in existing:
        key = (row.sha256, row.location_kind, row.location_path, row.location_label)
        values = wanted.pop(key, None)
        if values is None:
            session.delete(row)
            continue
        for k, v in values.items():
            setattr(row, k, v)
        row.site_id = device.site_id
        row.last_seen_at = now
        session.add(row)
    for values in wanted.values():
        session.add(
            DeviceCertificate(
                device_id=device.id, site_id=device.site_id, first_seen_at=now, last_seen_at=now, **values
            )
        )
    # TLS services and signed documents are small: rewrite them.
    session.exec(delete(TlsEndpointRow).where(col(TlsEndpointRow.device_id) == device.id))
    session.exec(delete(SignedDocumentRow).where(col(SignedDocumentRow.device_id) == device.id))
    seen_targets: set[str] = set()
    for e in facts.tls_endpoints:
        if e.target in seen_targets:
            continue
        seen_targets.add(e.target)
        session.add(
            TlsEndpointRow(
                device_id=device.id,
                site_id=device.site_id,
                target=e.target[:500],
                host=e.host[:255],
                port=e.port,
                reachable=e.reachable,
                error=(e.error or "")[:1000] or None,
                protocol=e.protocol,
                leaf_sha256=e.leaf.sha256 if e.leaf else None,
                leaf_subject=e.leaf.subject[:1000] if e.leaf else None,
                not_after=e.leaf.not_after if e.leaf else None,
                verified=e.verified,
                verify_error=(e.verify_error or "")[:1000] or None,
                chain_complete=e.chain_complete,
                hostname_matches=e.hostname_matches,
                tls10_accepted=e.tls10_accepted,
                tls11_accepted=e.tls11_accepted,
                hsts=e.hsts,
                updated_at=now,
            )
        )
    seen_docs: set[tuple[str, str]] = set()
    for d in facts.documents:
        doc_key = (d.path[:1000], d.signature[:255])
        if doc_key in seen_docs:
            continue
        seen_docs.add(doc_key)
        session.add(
            SignedDocumentRow(
                device_id=device.id,
                site_id=device.site_id,
                path=doc_key[0],
                signature=doc_key[1],
                kind=d.kind,
                status=d.status.value,
                signer_subject=(d.signer_subject or "")[:1000] or None,
                signing_time=d.signing_time,
                timestamp_present=d.timestamp_present,
                reasons=list(d.reasons) or ([d.error] if d.error else []),
                updated_at=now,
            )
        )


@dataclass
class CertificateRow:
    cert: DeviceCertificate
    device: Device
    site: Site

    def days_left(self, now: datetime) -> int:
        return (self.cert.not_after - now).days


def _certificates_query(
    *,
    scope: Scope,
    site_id: int | None = None,
    device_id: int | None = None,
    expiring_within_days: int | None = None,
    roles: Collection[str] | None = None,
    now: datetime,
) -> Any:
    q = (
        select(DeviceCertificate, Device, Site)
        .join(Device, col(Device.id) == DeviceCertificate.device_id)
        .join(Site, col(Site.id) == DeviceCertificate.site_id)
    )
    if scope is not None:
        q = q.where(col(DeviceCertificate.site_id).in_(scope))
    if site_id is not None:
        q = q.where(DeviceCertificate.site_id == site_id)
    if device_id is not None:
        q = q.where(DeviceCertificate.device_id == device_id)
    if expiring_within_days is not None:
        q = q.where(col(DeviceCertificate.not_after) <= now + timedelta(days=expiring_within_days))
    if roles:
        q = q.where(col(DeviceCertificate.role).in_(list(roles)))
    return q


def list_certificates(
    session: Session,
    *,
    scope: Scope,
    site_id: int | None = None,
    device_id: int | None = None,
    expiring_within_days: int | None = None,
    roles: Collection[str] | None = None,
    now: datetime | None = None,
    limit: int = 5000,
) -> list[CertificateRow]:
    """Certificates soonest-expiring first; ``expiring_within_days`` includes those already expired."""
    now = now or datetime.now(UTC)
    q = _certificates_query(
        scope=scope,
        site_id=site_id,
        device_id=device_id,
        expiring_within_days=expiring_within_days,
        roles=roles,
        now=now,
    ).order_by(col(DeviceCertificate.not_after), col(DeviceCertificate.id))
    return [CertificateRow(c, d, s) for c, d, s in session.exec(q.limit(limit)).all()]


# The calendar's one order: soonest expiry first, the id breaking ties (keyset pages).
CALENDAR_SORTING = paging.Sorting(
    keys=(paging.SortKey("not_after", (col(DeviceCertificate.not_after),)),),
    tiebreak=col(DeviceCertificate.id),
    default="not_after",
)
CALENDAR_PAGE = 200


def calendar_page(
    session: Session,
    *,
    scope: Scope,
    site_id: int | None = None,
    expiring_within_days: int | None = None,
    cursor: str | None = None,
    limit: int = CALENDAR_PAGE,
    now: datetime | None = None,
) -> tuple[list[CertificateRow], paging.Page]:
    """One page of the calendar, soonest expiry first: at 100,000 devices the 90-day window holds tens
    of thousands of certificates, more than a page can draw."""
    now = now or datetime.now(UTC)
    q = _certificates_query(scope=scope, site_id=site_id, expiring_within_days=expiring_within_days, now=now)
    page = paging.paginate(session, q, CALENDAR_SORTING, cursor=cursor, limit=limit)
    return [CertificateRow(c, d, s) for c, d, s in page.rows], page


def list_tls(
    session: Session, *, scope: Scope, site_id: int | None = None, device_id: int | None = None
) -> list[TlsEndpointRow]:
    q = select(TlsEndpointRow).order_by(col(TlsEndpointRow.target))
    if scope is not None:
        q = q.where(col(TlsEndpointRow.site_id).in_(scope))
    if site_id is not None:
        q = q.where(TlsEndpointRow.site_id == site_id)
    if device_id is not None:
        q = q.where(TlsEndpointRow.device_id == device_id)
    return list(session.exec(q).all())


def list_documents(
    session: Session, *, scope: Scope, site_id: int | None = None, device_id: int | None = None
) -> list[SignedDocumentRow]:
    q = select(SignedDocumentRow).order_by(col(SignedDocumentRow.status), col(SignedDocumentRow.path))
    if scope is not None:
        q = q.where(col(SignedDocumentRow.site_id).in_(scope))
    if site_id is not None:
        q = q.where(SignedDocumentRow.site_id == site_id)
    if device_id is not None:
        q = q.where(SignedDocumentRow.device_id == device_id)
    return list(session.exec(q).all())


@dataclass
class CalendarMonth:
    month: date  # first day of the month
    rows: list[CertificateRow]


def calendar(
    rows: Iterable[CertificateRow], *, now: datetime
) -> tuple[list[CertificateRow], list[CalendarMonth]]:
    """(already expired, then one group per month in date order)."""
    expired: list[CertificateRow] = []
    months: dict[date, list[CertificateRow]] = {}
    for r in rows:
        if r.cert.not_after < now:
            expired.append(r)
        else:
            # The month a person reads on the page: the Vietnamese day of the expiry.
            key = local_date(r.cert.not_after).replace(day=1)
            months.setdefault(key, []).append(r)
    return expired, [CalendarMonth(k, v) for k, v in sorted(months.items())]
