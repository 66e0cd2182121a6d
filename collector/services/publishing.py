"""Publishing a signed-off inspection: an immutable JSON document, its PDF, and detached signatures.

The JSON bytes stored are exactly the bytes signed and served; HTML is rendered from them. A
publication is never edited: a correction is a new inspection.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Collection
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from collector.models.core import Site
from collector.models.inspections import (
    Action,
    Inspection,
    InspectionPhoto,
    InspectionStatus,
    Publication,
    ShareLink,
)
from collector.models.types import utcnow
from collector.security import new_token, token_hash
from collector.services.audit import record
from collector.services.checklists import ItemType
from collector.services.errors import Conflict, NotFound
from collector.services.inspections import answers, current_score, template_of
from collector.signing import load_or_create

DOCUMENT_SCHEMA = "wardwatch.inspection-report/1"
SEVERITY_VI = {
    "critical": "nghiêm trọng",
    "high": "cao",
    "medium": "trung bình",
    "low": "thấp",
    "info": "thông tin",
}


def _previous(session: Session, inspection: Inspection) -> Publication | None:
    q = (
        select(Publication)
        .join(Inspection, col(Inspection.id) == col(Publication.inspection_id))
        .where(Publication.site_id == inspection.site_id, Publication.inspection_id != inspection.id)
        .order_by(col(Publication.published_at).desc())
    )
    return session.exec(q).first()


def build_document(
    session: Session,
    inspection: Inspection,
    *,
    slug: str,
    key_id: str,
    published_at: datetime,
    published_by: str,
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
    previous = _previous(session, inspection)
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
        "published_by": published_by,
        "site": {"code": site.code, "name": site.name, "district": site.district},
        "checklist": {"key": template.key, "version": template.version, "title": template.title.model_dump()},
        "inspection": {
            "id": inspection.id,
            "team": inspection.team,
            "lead": inspection.lead_username,
            "signed_at": inspection.signed_at.isoformat() if inspection.signed_at else None,
            "signed_by": inspection.signed_by,
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


def publish(
    session: Session, inspection: Inspection, *, data_dir: Path, actor: str, public: bool = True
) -> Publication:
    if inspection.status == InspectionStatus.PUBLISHED:
        raise Conflict("this inspection is already published")
    if inspection.status != InspectionStatus.SIGNED:
        raise Conflict("sign the inspection off before publishing it")
    key = load_or_create(data_dir)
    site = session.get(Site, inspection.site_id)
    assert site is not None
    now = utcnow()
    code = re.sub(r"[^a-z0-9-]+", "-", site.code.lower()).strip("-") or "site"
    slug = f"{code}-{now:%Y%m%d}-{secrets.token_hex(4)}"  # no dots: /published/SLUG.json stays unambiguous
    doc = build_document(
        session, inspection, slug=slug, key_id=key.key_id, published_at=now, published_by=actor
    )
    body = document_bytes(doc)
    from collector.services.published_pdf import render_pdf

    pdf = render_pdf(doc)
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
        pdf=pdf,
        pdf_signature=key.sign(pdf),
        key_id=key.key_id,
        public=public,
    )
    inspection.status = InspectionStatus.PUBLISHED
    session.add_all([pub, inspection])
    record(session, actor=actor, action="inspection.publish", target=slug)
    session.flush()
    return pub


def get_publication(session: Session, slug: str) -> Publication:
    pub = session.exec(select(Publication).where(Publication.slug == slug)).first()
    if pub is None:
        raise NotFound(f"no published report {slug!r}")
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
    record(session, actor=actor, action="publication.share", target=pub.slug)
    session.flush()
    return token


def revoke_share_link(session: Session, link_id: int, *, actor: str) -> None:
    link = session.get(ShareLink, link_id)
    if link is None:
        raise NotFound(f"no share link {link_id}")
    if link.revoked_at is None:
        link.revoked_at = utcnow()
        session.add(link)
        record(session, actor=actor, action="publication.unshare", target=str(link_id))


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


def font_path(name: str) -> str:
    return str(resources.files("collector") / "data" / "fonts" / name)
