"""Inspections, their answers (offline sync), photos, sign-off, actions and publishing."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from sqlmodel import Session

from collector.api.schemas.inspections import (
    ActionPublic,
    InspectionDetail,
    InspectionPublic,
    PhotoPublic,
    PublicationPreview,
    Published,
    SyncAnswer,
)
from collector.http.deps import DbSession, Principal, Settings, allow
from collector.http.params import Id, IsoDate
from collector.http.responses import success
from collector.models.core import Role
from collector.models.inspections import Action, Inspection, InspectionPhoto
from collector.pdf.layout import Issuer
from collector.plugins import RouterSpec
from collector.services import inspections as svc
from collector.services import photos as photo_svc
from collector.services import publishing
from collector.services.devices import site_in_scope, site_to_change
from collector.services.errors import NotFound, ServiceError
from collector.services.inspections import inspection_view

router = APIRouter(tags=["inspections"])

Reader = Annotated[Principal, Depends(allow(Role.ADMIN, Role.TECHNICIAN, Role.INSPECTOR))]
Inspector = Annotated[Principal, Depends(allow(Role.ADMIN, Role.INSPECTOR))]
ActionEditor = Annotated[Principal, Depends(allow(Role.ADMIN, Role.TECHNICIAN, Role.INSPECTOR))]


def _http(exc: ServiceError) -> HTTPException:
    return HTTPException(exc.status_code, str(exc))


class InspectionCreate(BaseModel):
    site: str
    template: str = "commune-security"
    lead: str | None = None
    team: str = Field(default="", max_length=500)
    scheduled_for: IsoDate | None = None


class SyncOpIn(BaseModel):
    op_id: str = Field(min_length=8, max_length=64)
    item_id: str = Field(max_length=64)
    value: Any = None
    note: str = Field(default="", max_length=4000)
    base_revision: int = 0


class SyncIn(BaseModel):
    ops: list[SyncOpIn] = Field(max_length=500)


class SignOffIn(BaseModel):
    signature_name: str = Field(min_length=1, max_length=200)


class PublishIn(BaseModel):
    # Private unless chosen: a public publication is a separate redacted rendering, and it must be the
    # one previewed (the ``digest`` of GET .../publication-preview).
    public: bool = False
    previewed: str | None = Field(default=None, max_length=64)


class ActionPatch(BaseModel):
    status: str | None = None
    owner: str | None = Field(default=None, max_length=255)
    due_date: IsoDate | None = None


def _site_filter(session: Session, code: str | None, user: Principal) -> int | None:
    if not code:
        return None
    try:
        return site_in_scope(session, code, scope=user.site_ids).id
    except NotFound as exc:
        raise _http(exc) from None


def _load(session: Session, inspection_id: int, user: Principal) -> Inspection:
    try:
        return svc.get_inspection(session, inspection_id, scope=user.site_ids)
    except NotFound as exc:
        raise _http(exc) from None


@router.get("/inspections", response_model=list[InspectionPublic])
def list_inspections(user: Reader, session: DbSession, site: str | None = None) -> list[dict[str, Any]]:
    site_id = _site_filter(session, site, user)
    return [
        i.model_dump(mode="json") for i in svc.list_inspections(session, scope=user.site_ids, site_id=site_id)
    ]


@router.post("/inspections", status_code=201, response_model=InspectionDetail)
def create(body: InspectionCreate, user: Inspector, session: DbSession) -> dict[str, Any]:
    try:
        site = site_to_change(session, body.site, scope=user.site_ids)
        insp = svc.create_inspection(
            session,
            site=site,
            template_key=body.template,
            lead_username=body.lead or user.username,
            team=body.team,
            scheduled_for=body.scheduled_for,
            actor=user.username,
        )
    except (ServiceError, ValueError) as exc:
        session.rollback()
        raise HTTPException(getattr(exc, "status_code", 400), str(exc)) from None
    session.commit()
    return inspection_view(session, insp)


@router.get("/inspections/{inspection_id}", response_model=InspectionDetail)
def detail(inspection_id: Id, user: Reader, session: DbSession) -> dict[str, Any]:
    return inspection_view(session, _load(session, inspection_id, user))


@router.post("/inspections/{inspection_id}/prefill", response_model=InspectionDetail)
def refresh(inspection_id: Id, user: Inspector, session: DbSession) -> dict[str, Any]:
    insp = _load(session, inspection_id, user)
    if insp.status in ("signed", "published"):
        raise HTTPException(409, "this inspection is signed off")
    svc.prefill(session, insp, actor=user.username)
    session.commit()
    return inspection_view(session, insp)


@router.post("/inspections/{inspection_id}/sync", response_model=SyncAnswer)
def sync(inspection_id: Id, body: SyncIn, user: Inspector, session: DbSession) -> dict[str, Any]:
    insp = _load(session, inspection_id, user)
    ops = [svc.SyncOp(**op.model_dump()) for op in body.ops]
    try:
        outcomes = svc.sync_answers(session, insp, ops, actor=user.username)
    except ServiceError as exc:
        session.rollback()
        raise _http(exc) from None
    session.commit()
    result = svc.current_score(session, insp)
    return {"results": [o.__dict__ for o in outcomes], "score": result.overall, "status": insp.status}


@router.post("/inspections/{inspection_id}/photos", status_code=201, response_model=PhotoPublic)
def upload_photo(
    inspection_id: Id,
    user: Inspector,
    session: DbSession,
    settings: Settings,
    item_id: Annotated[str, Form(min_length=1, max_length=64)],
    file: Annotated[UploadFile, File()],
) -> dict[str, Any]:
    insp = _load(session, inspection_id, user)
    data = file.file.read(photo_svc.MAX_PHOTO_BYTES + 1)  # a worker thread: a plain read
    try:
        photo = photo_svc.save_photo(
            session, insp, item_id=item_id, data=data, data_dir=settings.data_dir, actor=user.username
        )
    except ServiceError as exc:
        session.rollback()
        raise _http(exc) from None
    session.commit()
    return {
        "id": photo.id,
        "item_id": photo.item_id,
        "content_type": photo.content_type,
        "size": photo.size_bytes,
    }


@router.get(
    "/inspections/{inspection_id}/photos/{photo_id}",
    response_class=FileResponse,
    responses=success("image/jpeg", "image/png", "image/webp"),
)
def get_photo(
    inspection_id: Id, photo_id: Id, user: Reader, session: DbSession, settings: Settings
) -> FileResponse:
    _load(session, inspection_id, user)
    photo = session.get(InspectionPhoto, photo_id)
    if photo is None or photo.inspection_id != inspection_id:
        raise HTTPException(404, f"no photo {photo_id}")
    return FileResponse(
        photo_svc.photo_path(settings.data_dir, photo),
        media_type=photo.content_type,
        headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


@router.post("/inspections/{inspection_id}/signoff", response_model=InspectionDetail)
def signoff(
    inspection_id: Id, body: SignOffIn, user: Inspector, session: DbSession, settings: Settings
) -> dict[str, Any]:
    insp = _load(session, inspection_id, user)
    try:
        svc.sign_off(
            session,
            insp,
            actor=user.username,
            actor_role=user.role,
            signature_name=body.signature_name,
            due_days=settings.due_days,
        )
    except ServiceError as exc:
        session.rollback()
        raise _http(exc) from None
    session.commit()
    return inspection_view(session, insp)


def _may_publish(session: Session, inspection_id: int, user: Principal) -> Inspection:
    insp = _load(session, inspection_id, user)
    if user.role != Role.ADMIN and user.username != insp.lead_username:
        raise HTTPException(403, "only the lead inspector or an administrator publishes")
    return insp


@router.get(
    "/inspections/{inspection_id}/publication-preview",
    response_model=PublicationPreview,
    responses={409: {"description": "the inspection is not signed off (or already published)"}},
)
def publication_preview(
    inspection_id: Id, user: Inspector, session: DbSession, settings: Settings
) -> dict[str, Any]:
    """The full and the public (redacted) documents as publishing would make them now, and the digest
    a public publication must name."""
    insp = _may_publish(session, inspection_id, user)
    try:
        pre = publishing.preview(session, insp, actor=user.username, issuer=Issuer.from_settings(settings))
    except ServiceError as exc:
        raise _http(exc) from None
    return {"document": pre.doc, "public_document": pre.public_doc, "digest": pre.digest}


@router.post("/inspections/{inspection_id}/publish", status_code=201, response_model=Published)
def publish(
    inspection_id: Id, body: PublishIn, user: Inspector, session: DbSession, settings: Settings
) -> dict[str, Any]:
    insp = _may_publish(session, inspection_id, user)
    try:
        pub = publishing.publish(
            session,
            insp,
            data_dir=settings.data_dir,
            actor=user.username,
            public=body.public,
            issuer=Issuer.from_settings(settings),
            previewed=body.previewed,
        )
    except ServiceError as exc:
        session.rollback()
        raise _http(exc) from None
    session.commit()
    return {
        "slug": pub.slug,
        "url": f"/published/{pub.slug}",
        "json": f"/published/{pub.slug}.json",
        "signature": f"/published/{pub.slug}.json.sig",
        "pdf": f"/published/{pub.slug}.pdf",
        "public": pub.public,
        "number": f"{pub.doc_number}/{publishing.RECORD_SYMBOL}-{settings.org_unit_code}",
        "pades_level": pub.pades_level,
        "pdf_signer": pub.pdf_signer,
    }


@router.get("/actions", response_model=list[ActionPublic])
def actions(
    user: Reader, session: DbSession, site: str | None = None, open_only: bool = False
) -> list[dict[str, Any]]:
    site_id = _site_filter(session, site, user)
    return [
        a.model_dump(mode="json")
        for a in svc.list_actions(session, scope=user.site_ids, site_id=site_id, open_only=open_only)
    ]


@router.patch("/actions/{action_id}", response_model=ActionPublic)
def patch_action(action_id: Id, body: ActionPatch, user: ActionEditor, session: DbSession) -> dict[str, Any]:
    action = session.get(Action, action_id)
    if action is None or not user.can_see_site(action.site_id):
        raise HTTPException(404, f"no action {action_id}")
    try:
        svc.update_action(
            session,
            action,
            actor=user.username,
            actor_role=user.role,
            status=body.status,
            owner=body.owner,
            due_date=body.due_date,
        )
    except ServiceError as exc:
        session.rollback()
        raise _http(exc) from None
    session.commit()
    session.refresh(action)
    return action.model_dump(mode="json")


PLUGIN = RouterSpec(router)
