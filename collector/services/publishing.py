"""Publishing a signed-off inspection: an immutable JSON document, its PDF, and detached signatures.

The JSON bytes stored are exactly the bytes signed and served; HTML is rendered from them. A
publication is never edited: a correction is a new inspection.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, func, select

from collector.i18n import translator
from collector.localtime import stamp
from collector.models.core import Site, User
from collector.models.inspections import (
    Action,
    Inspection,
    InspectionPhoto,
    InspectionStatus,
    Publication,
    ShareLink,
)
from collector.models.types import utcnow
from collector.pdf.layout import Issuer, Rendered
from collector.pdf.layout import render as render_layout
from collector.security import new_token, token_hash
from collector.services.audit import record
from collector.services.checklists import ItemType
from collector.services.errors import Conflict, NotFound
from collector.services.inspection_record import RECORD_SYMBOL
from collector.services.inspections import answers, current_score, parse_evidence, template_of
from collector.services.signing_cert import PdfSigningSession, SignedPdf, pdf_signing
from collector.signing import load_or_create

DOCUMENT_SCHEMA = "wardwatch.inspection-report/2"
PUBLIC_SCHEMA = "wardwatch.inspection-report.public/1"


def _previous(session: Session, inspection: Inspection, *, public: bool) -> Publication | None:
    """The site's latest earlier report the trend compares with. A public report compares only with
    earlier public ones: anyone may read it, and a private report's slug and score are not theirs."""
    q = (
        select(Publication)
        .join(Inspection, col(Inspection.id) == col(Publication.inspection_id))
        .where(Publication.site_id == inspection.site_id, Publication.inspection_id != inspection.id)
        .order_by(col(Publication.published_at).desc())
    )
    if public:
        q = q.where(Publication.public == True)  # noqa: E712  (SQL comparison)
    return session.exec(q).first()


def build_document(
    session: Session,
    inspection: Inspection,
    *,
    slug: str,
    key_id: str,
    published_at: datetime,
    published_by: str,
    public: bool,
    issuer: Issuer | None = None,
    number: int | None = None,
) -> dict[str, Any]:
    template = template_of(inspection)
    site = session.get(Site, inspection.site_id)
    assert site is not None
    rows = answers(session, inspection.id or 0)
    photos = session.exec(select(InspectionPhoto).where(InspectionPhoto.inspection_id == inspection.id)).all()
    photo_count: dict[str, int] = {}
    for p in photos:
        photo_count[p.item_id] = photo_count.get(p.item_id, 0) + 1
    result = current_score(session, inspection)
    actions = session.exec(
        select(Action).where(Action.inspection_id == inspection.id).order_by(Action.id)
    ).all()
    items = []
    findings = []
    auto_used = auto_overridden = 0
    for section, item in template.items():
        row = rows.get(item.id)
        value = row.value if row else None
        entry = {
            "section": section.id,
            "id": item.id,
            "label": item.label.model_dump(),
            "type": item.type.value,
            "value": value,
            "note": row.note if row else "",
            "source": row.source if row else "manual",
            "auto_value": row.auto_value if row else None,
            "auto_evidence": row.auto_evidence if row else None,
            "auto_as_of": row.auto_as_of.isoformat() if row and row.auto_as_of else None,
            "photos": photo_count.get(item.id, 0),
        }
        if item.type == ItemType.PASS_FAIL:
            entry["severity"] = item.severity.value
        entry.update(_readable_value(item, value))
        items.append(entry)
        if row is not None and row.auto_value is not None:
            auto_used += 1
            auto_overridden += row.source == "override"
        if value == "fail":
            findings.append(
                {
                    "item": item.id,
                    "label": item.label.model_dump(),
                    "severity": item.severity.value,
                    "note": entry["note"],
                    "evidence": entry["auto_evidence"],
                }
            )
    previous = _previous(session, inspection, public=public)
    trend = None
    if previous is not None:
        trend = {
            "previous_slug": previous.slug,
            "previous_published_at": previous.published_at.isoformat(),
            "previous_score": previous.score,
            "change": None
            if previous.score is None or result.overall is None
            else round(result.overall - previous.score, 1),
        }
    return {
        "schema": DOCUMENT_SCHEMA,
        "id": slug,
        "issuer": "wardwatch",
        "key_id": key_id,
        "published_at": published_at.isoformat(),
        "published_by": person(session, published_by)["name"],
        "document": _document_info(issuer, number, published_at),
        "site": {"code": site.code, "name": site.name},
        "checklist": {"key": template.key, "version": template.version, "title": template.title.model_dump()},
        "inspection": {
            "id": inspection.id,
            "team": inspection.team,
            **_people(session, inspection, items),
            "signed_at": inspection.signed_at.isoformat() if inspection.signed_at else None,
            "evidence_as_of": inspection.prefilled_at.isoformat() if inspection.prefilled_at else None,
        },
        "score": {
            "overall": result.overall,
            "passed": result.passed,
            "threshold": result.threshold,
            "sections": [
                {
                    "id": s.section_id,
                    "title": next(x.title.model_dump() for x in template.sections if x.id == s.section_id),
                    "score": s.score,
                }
                for s in result.sections
            ],
        },
        "trend": trend,
        "findings": findings,
        "evidence_summary": {
            "automatic_items": auto_used,
            "overridden_by_inspectors": auto_overridden,
            "photos": len(photos),
        },
        "actions": [
            {
                "item": a.item_id,
                "title": a.title,
                "severity": a.severity,
                "owner": a.owner,
                "due_date": a.due_date.isoformat(),
                "status": a.status,
                "carried_over": a.carried_from_id is not None,
            }
            for a in actions
        ],
        "items": items,
    }


def document_bytes(doc: dict[str, Any]) -> bytes:
    # Indented so a person can read the downloaded file; the bytes signed are the bytes served.
    return (json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


def _document_info(issuer: Issuer | None, number: int | None, published_at: datetime) -> dict[str, Any]:
    """The record's place in the issuing unit's register: "Số: 12/BB-SKHCN" (Decree 30/2020/ND-CP)."""
    info: dict[str, Any] = {"number": number, "year": published_at.year}
    if issuer is not None:
        info.update(
            {
                "symbol": f"{RECORD_SYMBOL}-{issuer.unit_code}",
                "issuer": {"parent_body": issuer.parent_body, "unit": issuer.unit, "place": issuer.place},
            }
        )
    return info


def person(session: Session, username: str | None) -> dict[str, str]:
    """A user as documents name them: full name and position, never the login name."""
    user = session.exec(select(User).where(User.username == username)).first() if username else None
    return {"name": (user.full_name or "") if user else "", "position": (user.title or "") if user else ""}


def _people(session: Session, inspection: Inspection, items: list[dict[str, Any]]) -> dict[str, Any]:
    lead = person(session, inspection.lead_username)
    signer = person(session, inspection.signed_by)
    # The name the signer typed at sign-off is their signature: it stands in for a missing full name.
    typed = next((str(i["value"]) for i in items if i["type"] == "signature" and i["value"]), "")
    signer["name"] = signer["name"] or typed
    is_lead = inspection.signed_by == inspection.lead_username
    if is_lead:
        lead["name"] = lead["name"] or signer["name"]
    return {"lead": lead, "signer": {**signer, "is_lead": is_lead}}


def _readable_value(item: Any, value: Any) -> dict[str, Any]:
    """A choice answer's label in both languages (documents print words, never stored codes)."""
    out: dict[str, Any] = {"answered": value not in (None, "")}
    if item.type == ItemType.CHOICE:
        choice = next((c for c in item.choices if c.value == value), None)
        out["value_label"] = choice.label.model_dump() if choice else None
    return out


# ---- the public rendering -------------------------------------------------------------------------

# What a public reader may see of an item: the verdict and figures, never free text.
_PUBLIC_VALUE_TYPES = ("pass_fail", "choice", "number")


def redact(doc: dict[str, Any]) -> dict[str, Any]:
    """The public rendering of a published document: items, scores, counts and actions only.

    Built by keeping named fields (never by deleting known-sensitive ones): no hostnames, addresses,
    serial numbers, user names, notes, free-text answers, team members, action owners or evidence.
    """
    labels = {i["id"]: i["label"] for i in doc["items"]}
    failing_devices = {f["item"]: parse_evidence(f.get("evidence")).failing or None for f in doc["findings"]}
    insp = doc["inspection"]
    return {
        "schema": PUBLIC_SCHEMA,
        "public": True,
        "id": doc["id"],
        "issuer": doc["issuer"],
        "key_id": doc["key_id"],
        "published_at": doc["published_at"],
        "document": doc.get("document", {}),
        "site": {k: doc["site"][k] for k in ("code", "name")},
        "checklist": doc["checklist"],
        "inspection": {
            "signed_at": insp.get("signed_at"),
            "lead": {k: insp["lead"][k] for k in ("name", "position")},
            "signer": {k: insp["signer"][k] for k in ("name", "position", "is_lead")},
        },
        "score": doc["score"],
        "trend": doc.get("trend"),
        "findings": [
            {
                "item": f["item"],
                "label": f["label"],
                "severity": f["severity"],
                "failing_devices": failing_devices.get(f["item"]),
            }
            for f in doc["findings"]
        ],
        "evidence_summary": doc["evidence_summary"],
        "actions": [
            {
                "item": a["item"],
                "title": labels.get(a["item"], {}).get("vi", ""),
                "label": labels.get(a["item"]),
                "severity": a["severity"],
                "due_date": a["due_date"],
                "status": a["status"],
                "carried_over": a["carried_over"],
            }
            for a in doc["actions"]
        ],
        "items": [
            {
                "section": i["section"],
                "id": i["id"],
                "label": i["label"],
                "type": i["type"],
                "value": i["value"] if i["type"] in _PUBLIC_VALUE_TYPES else None,
                "value_label": i.get("value_label"),
                "answered": i.get("answered", i["value"] not in (None, "")),
                "source": i["source"],
                **({"severity": i["severity"]} if "severity" in i else {}),
            }
            for i in doc["items"]
        ],
    }


def preview_digest(public_doc: dict[str, Any]) -> str:
    """What the lead saw in the preview: the public rendering without its publication stamps."""
    volatile = ("id", "published_at", "key_id", "document")
    stable = {k: v for k, v in public_doc.items() if k not in volatile}
    return hashlib.sha256(json.dumps(stable, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@dataclass(frozen=True)
class Preview:
    doc: dict[str, Any]
    public_doc: dict[str, Any]
    digest: str


def preview(session: Session, inspection: Inspection, *, actor: str, issuer: Issuer) -> Preview:
    """The documents as they would be published now (not stored, not numbered, not signed)."""
    if inspection.status != InspectionStatus.SIGNED:
        raise NotSignedOff("sign the inspection off before publishing it")
    doc = build_document(
        session,
        inspection,
        slug="preview",
        key_id="",
        published_at=utcnow(),
        published_by=actor,
        issuer=issuer,
        number=None,
        public=True,  # the preview is of the public version, whose trend counts only public reports
    )
    public_doc = redact(doc)
    return Preview(doc, public_doc, preview_digest(public_doc))


def record_pdf(doc: dict[str, Any], *, issuer: Issuer, photos: list[tuple[str, bytes]]) -> Rendered:
    from collector.services.inspection_record import record_document

    return render_layout(record_document(doc, issuer=issuer, photos=photos))


def inspection_photos(session: Session, inspection: Inspection, *, data_dir: Path) -> list[tuple[str, bytes]]:
    from collector.services.photos import photo_path

    rows = session.exec(
        select(InspectionPhoto)
        .where(InspectionPhoto.inspection_id == inspection.id)
        .order_by(col(InspectionPhoto.id))
    ).all()
    out = []
    for p in rows:
        path = photo_path(data_dir, p)
        if path.is_file():
            out.append((p.item_id, path.read_bytes()))
    return out


def next_number(session: Session, year: int) -> int:
    """The next record number of the year (numbers restart each year, as registers do)."""
    last = session.exec(select(func.max(Publication.doc_number)).where(Publication.doc_year == year)).one()
    return (last or 0) + 1


class PreviewOutdated(Conflict):
    """A public publication must be the one the lead previewed."""


class NotSignedOff(Conflict):
    """Only a signed-off inspection is published (or previewed for publishing)."""


class AlreadyPublished(Conflict):
    """An inspection is published once."""


def publish(
    session: Session,
    inspection: Inspection,
    *,
    data_dir: Path,
    actor: str,
    public: bool = False,
    issuer: Issuer,
    previewed: str | None = None,
    now: datetime | None = None,
) -> Publication:
    """Number, render, sign (PAdES and Ed25519) and store the record; a public publication also gets
    its redacted rendering, which must be the one the lead previewed (``previewed`` digest)."""
    if inspection.status == InspectionStatus.PUBLISHED:
        raise AlreadyPublished("this inspection is already published")
    if inspection.status != InspectionStatus.SIGNED:
        raise NotSignedOff("sign the inspection off before publishing it")
    key = load_or_create(data_dir)
    site = session.get(Site, inspection.site_id)
    assert site is not None
    now = now or utcnow()
    code = re.sub(r"[^a-z0-9-]+", "-", site.code.lower()).strip("-") or "site"
    # The day in the slug is the Vietnamese day of publication; no dots: /published/SLUG.json stays
    # unambiguous.
    slug = f"{code}-{stamp(now)}-{secrets.token_hex(4)}"
    number = next_number(session, now.year)
    doc = build_document(
        session,
        inspection,
        slug=slug,
        key_id=key.key_id,
        published_at=now,
        published_by=actor,
        issuer=issuer,
        number=number,
        public=public,
    )
    public_doc = redact(doc) if public else None
    if public_doc is not None and previewed != preview_digest(public_doc):
        raise PreviewOutdated(
            "preview the public version before publishing it (it changed since the preview, or was not "
            "previewed)"
        )
    body = document_bytes(doc)
    photos = inspection_photos(session, inspection, data_dir=data_dir)
    with pdf_signing(session, data_dir=data_dir) as signing:
        signed = _sign_record(signing, doc, issuer=issuer, photos=photos)
        public_signed = _sign_record(signing, public_doc, issuer=issuer, photos=[]) if public_doc else None
    public_body = document_bytes(public_doc) if public_doc else None
    pub = Publication(
        inspection_id=inspection.id or 0,
        slug=slug,
        site_id=site.id or 0,
        title=f"{template_of(inspection).title.vi} — {site.name}",
        published_at=now,
        published_by=actor,
        score=doc["score"]["overall"],
        passed=doc["score"]["passed"],
        body=body,
        signature=key.sign(body),
        pdf=signed.data,
        pdf_signature=key.sign(signed.data),
        key_id=key.key_id,
        public=public,
        doc_year=now.year,
        doc_number=number,
        pades_level=signed.level,
        pdf_signer=signed.signer,
        public_body=public_body,
        public_signature=key.sign(public_body) if public_body else None,
        public_pdf=public_signed.data if public_signed else None,
        public_pdf_signature=key.sign(public_signed.data) if public_signed else None,
    )
    inspection.status = InspectionStatus.PUBLISHED
    session.add_all([pub, inspection])
    record(
        session,
        actor=actor,
        action="inspection.publish",
        target=slug,
        detail={"public": public},
        sites=[site.id],
    )
    from collector.services.notify_events import emit

    emit(
        session,
        kind="inspection.published",
        site_id=site.id or 0,
        payload={
            "slug": slug,
            "title": pub.title,
            "score": pub.score,
            "published_by": actor,
            "inspection_id": inspection.id,
            "public": public,
        },
        at=now,
    )
    session.flush()
    return pub


def _sign_record(
    signing: PdfSigningSession, doc: dict[str, Any], *, issuer: Issuer, photos: list[tuple[str, bytes]]
) -> SignedPdf:
    from collector.pdf.layout import number_line
    from collector.services.inspection_record import record_document

    _ = translator("vi")
    admin_doc = record_document(doc, issuer=issuer, photos=photos)
    rendered = render_layout(admin_doc)
    return signing.sign(
        rendered.pdf,
        box=rendered.signature_box,
        reason=_(
            "Issued the %(type)s %(number)s",
            type=admin_doc.doc_type.capitalize(),
            number=number_line(admin_doc),
        ),
        location=issuer.place,
        stamp=_("Signed by: %(signer)s") + "\n" + _("Date: %(ts)s"),
    )


def get_publication(session: Session, slug: str) -> Publication:
    pub = session.exec(select(Publication).where(Publication.slug == slug)).first()
    if pub is None:
        raise NotFound("no published report %(slug)s", slug=repr(slug))
    return pub


def list_publications(
    session: Session, *, scope: Collection[int] | None, public_only: bool, limit: int = 200
) -> list[Publication]:
    q = select(Publication).order_by(col(Publication.published_at).desc()).limit(limit)
    if public_only:
        q = q.where(Publication.public == True)  # noqa: E712  (SQL comparison)
    elif scope is not None:
        q = q.where(col(Publication.site_id).in_(scope) | (Publication.public == True))  # noqa: E712
    return list(session.exec(q).all())


def create_share_link(session: Session, pub: Publication, *, actor: str) -> str:
    token = new_token("wwl")
    session.add(ShareLink(publication_id=pub.id or 0, token_hash=token_hash(token), created_by=actor))
    record(session, actor=actor, action="publication.share", target=pub.slug, sites=[pub.site_id])
    session.flush()
    return token


def revoke_share_link(session: Session, link_id: int, *, actor: str) -> None:
    link = session.get(ShareLink, link_id)
    if link is None:
        raise NotFound("no share link %(link_id)s", link_id=link_id)
    if link.revoked_at is None:
        link.revoked_at = utcnow()
        session.add(link)
        pub = session.get(Publication, link.publication_id)
        sites = [pub.site_id] if pub is not None else []
        record(session, actor=actor, action="publication.unshare", target=str(link_id), sites=sites)


def publication_by_share_token(session: Session, token: str) -> Publication:
    link = session.exec(select(ShareLink).where(ShareLink.token_hash == token_hash(token))).first()
    if link is None or link.revoked_at is not None:
        raise NotFound("this link does not exist or was revoked")
    pub = session.get(Publication, link.publication_id)
    if pub is None:
        raise NotFound("this link does not exist or was revoked")
    return pub


def share_links(session: Session, pub: Publication) -> list[ShareLink]:
    return list(
        session.exec(
            select(ShareLink)
            .where(ShareLink.publication_id == pub.id)
            .order_by(col(ShareLink.created_at).desc())
        ).all()
    )
