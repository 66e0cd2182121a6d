"""Inspection photos: type and size checked, stored outside the web root, served only to those allowed."""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from sqlmodel import Session

from collector.models.inspections import Inspection, InspectionPhoto, InspectionStatus
from collector.services.checklists import ItemType
from collector.services.errors import Conflict, NotFound, ServiceError
from collector.services.inspections import template_of

MAX_PHOTO_BYTES = 10 * 1024 * 1024
# Judged by the file's first bytes, never by the name or the browser's claim.
MAGIC = ((b"\xff\xd8\xff", "image/jpeg", ".jpg"), (b"\x89PNG\r\n\x1a\n", "image/png", ".png"))


def sniff(data: bytes) -> tuple[str, str] | None:
    for magic, ctype, ext in MAGIC:
        if data.startswith(magic):
            return ctype, ext
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", ".webp"
    return None


def photo_dir(data_dir: Path, inspection_id: int) -> Path:
    return data_dir / "photos" / str(inspection_id)


def save_photo(
    session: Session, inspection: Inspection, *, item_id: str, data: bytes, data_dir: Path, actor: str
) -> InspectionPhoto:
    if inspection.status in (InspectionStatus.SIGNED, InspectionStatus.PUBLISHED):
        raise Conflict("this inspection is signed off; photos can no longer be added")
    item = template_of(inspection).item(item_id)
    if item is None:
        raise NotFound("unknown item %(item_id)s", item_id=repr(item_id))
    if item.type not in (ItemType.PHOTO, ItemType.PASS_FAIL):
        raise ServiceError("item %(item_id)s does not take photos", item_id=item_id)
    if not data:
        raise ServiceError("the photo is empty")
    if len(data) > MAX_PHOTO_BYTES:
        raise ServiceError("the photo is larger than %(value)s MB", value=MAX_PHOTO_BYTES // (1024 * 1024))
    kind = sniff(data)
    if kind is None:
        raise ServiceError("only JPEG, PNG or WebP photos are accepted")
    ctype, ext = kind
    folder = photo_dir(data_dir, inspection.id or 0)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    name = secrets.token_hex(16) + ext
    tmp = folder / (name + ".part")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, folder / name)
    photo = InspectionPhoto(
        inspection_id=inspection.id or 0,
        item_id=item_id,
        content_type=ctype,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        stored_name=name,
        uploaded_by=actor,
    )
    session.add(photo)
    session.flush()
    return photo


def photo_path(data_dir: Path, photo: InspectionPhoto) -> Path:
    return photo_dir(data_dir, photo.inspection_id) / photo.stored_name
