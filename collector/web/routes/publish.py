"""Publishing a signed-off inspection from the console: preview, then sign and publish.

Access: the lead inspector of the inspection or an administrator, and only for an inspection of a site
in the caller's scope (``svc.get_inspection(..., scope=user.site_ids)`` answers 404 otherwise).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from collector.http.deps import DbSession, Principal, Settings, allow
from collector.http.params import Id
from collector.models.core import Role
from collector.models.inspections import Inspection
from collector.pdf.layout import Issuer
from collector.plugins import PageSpec
from collector.services import inspections as svc
from collector.services import publishing
from collector.services.errors import NotFound, ServiceError
from collector.services.signing_cert import SigningRefused
from collector.web.setup import flash, render, request_language, translator_for

router = APIRouter(include_in_schema=False)
Inspector = Annotated[Principal, Depends(allow(Role.ADMIN, Role.INSPECTOR))]


def _publishable(session: DbSession, inspection_id: int, user: Principal) -> Inspection:
    """The inspection, if the caller may see its site (else 404) and may publish it (else 403)."""
    try:
        insp = svc.get_inspection(session, inspection_id, scope=user.site_ids)
    except NotFound:
        raise HTTPException(404) from None
    if user.role != Role.ADMIN and user.username != insp.lead_username:
        raise HTTPException(403)
    return insp


def refusal_message(request: Request, exc: ServiceError) -> str:
    """Why publishing was refused, in the reader's language."""
    _ = translator_for(request)
    if isinstance(exc, SigningRefused):
        reasons = "; ".join(exc.reasons)
        messages = {
            "missing": _(
                "No signing certificate is configured; an administrator sets it with "
                "“wardwatch signing-cert set” (see Signing certificate)."
            ),
            "expired": _("The signing certificate has expired: %(reason)s", reason=reasons),
            "not_yet_valid": _("The signing certificate is not valid yet: %(reason)s", reason=reasons),
            "revoked": _("The signing certificate is revoked: %(reason)s", reason=reasons),
            "untrusted": _("The signing certificate is untrusted: %(reason)s", reason=reasons),
            "timestamp": _("The timestamp server did not answer: %(reason)s", reason=reasons),
        }
        return messages.get(
            exc.status,
            _(
                "The signing certificate cannot sign: %(reason)s",
                reason=reasons or exc.text(request_language(request)),
            ),
        )
    if isinstance(exc, publishing.PreviewOutdated):
        return _("Preview the public version again: the report changed since your preview.")
    if isinstance(exc, publishing.NotSignedOff):
        return _("Sign the inspection off before publishing it")
    if isinstance(exc, publishing.AlreadyPublished):
        return _("This inspection is already published")
    return exc.text(request_language(request))


@router.get("/inspections/{inspection_id}/publish")
def preview_page(
    request: Request,
    inspection_id: Id,
    user: Inspector,
    session: DbSession,
    settings: Settings,
    public: str = "",
) -> Response:
    """What will be published: the full record, and (when public) the redacted version anyone reads."""
    insp = _publishable(session, inspection_id, user)
    try:
        pre = publishing.preview(session, insp, actor=user.username, issuer=Issuer.from_settings(settings))
    except ServiceError as exc:
        target = RedirectResponse(f"/inspections/{inspection_id}", status_code=303)
        return flash(target, refusal_message(request, exc), "error")
    from checks.catalog import load_catalog

    return render(
        request,
        "publish_preview.html",
        {
            "insp": insp,
            "public": public == "on",
            "doc": pre.public_doc if public == "on" else pre.doc,
            "digest": pre.digest,
            "when": datetime.fromisoformat,
            "day": date.fromisoformat,
            "evidence": svc.parse_evidence,
            "check_titles": {cid: c.title for cid, c in load_catalog().items()},
            "pdf_url": f"/inspections/{inspection_id}/publish/preview.pdf"
            + ("?public=on" if public == "on" else ""),
        },
    )


@router.get("/inspections/{inspection_id}/publish/preview.pdf")
def preview_pdf(
    request: Request,
    inspection_id: Id,
    user: Inspector,
    session: DbSession,
    settings: Settings,
    public: str = "",
) -> Response:
    """The record as it will be printed, unsigned and unnumbered (a draft)."""
    insp = _publishable(session, inspection_id, user)
    issuer = Issuer.from_settings(settings)
    try:
        pre = publishing.preview(session, insp, actor=user.username, issuer=issuer)
    except ServiceError as exc:
        raise HTTPException(exc.status_code, exc.text(request_language(request))) from None
    doc = pre.public_doc if public == "on" else pre.doc
    photos = [] if public == "on" else publishing.inspection_photos(session, insp, data_dir=settings.data_dir)
    pdf = publishing.record_pdf(json.loads(json.dumps(doc)), issuer=issuer, photos=photos).pdf
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="preview-{inspection_id}.pdf"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/inspections/{inspection_id}/publish")
def publish(
    request: Request,
    inspection_id: Id,
    user: Inspector,
    session: DbSession,
    settings: Settings,
    public: Annotated[str, Form()] = "",
    previewed: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    insp = _publishable(session, inspection_id, user)
    back = RedirectResponse(f"/inspections/{inspection_id}", status_code=303)
    try:
        pub = publishing.publish(
            session,
            insp,
            data_dir=settings.data_dir,
            actor=user.username,
            public=public == "on",
            issuer=Issuer.from_settings(settings),
            previewed=previewed or None,
        )
    except publishing.PreviewOutdated as exc:
        session.rollback()
        again = RedirectResponse(f"/inspections/{inspection_id}/publish?public=on", status_code=303)
        return flash(again, refusal_message(request, exc), "error")
    except ServiceError as exc:
        session.rollback()
        return flash(back, refusal_message(request, exc), "error")
    session.commit()
    return RedirectResponse(f"/published/{pub.slug}", status_code=303)


PLUGIN = PageSpec(router)
