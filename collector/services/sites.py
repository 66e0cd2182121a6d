"""Sites (communes and wards): create, import from CSV, list within a user's scope."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from sqlmodel import Session, select

from collector.models.core import Site
from collector.services.errors import Conflict, NotFound, ServiceError

CODE_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def create_site(
    session: Session, *, code: str, name: str, district: str | None = None, address: str | None = None
) -> Site:
    code = code.strip()
    if not CODE_RE.match(code):
        raise ServiceError(f"site code {code!r} must be 1-64 letters, digits, '.', '_' or '-'")
    if not name.strip():
        raise ServiceError(f"site {code}: a name is required")
    if session.exec(select(Site).where(Site.code == code)).first():
        raise Conflict(f"site {code} already exists")
    site = Site(code=code, name=name.strip(), district=district or None, address=address or None)
    session.add(site)
    session.flush()
    return site


def get_site_by_code(session: Session, code: str) -> Site:
    site = session.exec(select(Site).where(Site.code == code)).first()
    if site is None:
        raise NotFound(f"no site with code {code!r}")
    return site


@dataclass
class ImportResult:
    created: list[str]
    updated: list[str]


def import_sites_csv(session: Session, text: str) -> ImportResult:
    """Create or rename sites from CSV with columns code,name[,district,address].

    All rows are checked before anything is written: one bad row names its line and changes nothing.
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    fields = {f.strip().lower() for f in reader.fieldnames or []}
    if not {"code", "name"} <= fields:
        raise ServiceError("the CSV needs a header row with at least the columns: code,name")
    rows: list[dict[str, str]] = []
    seen: set[str] = set()
    for line_no, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
        code, name = row.get("code", ""), row.get("name", "")
        if not CODE_RE.match(code):
            raise ServiceError(f"line {line_no}: site code {code!r} is not valid")
        if not name:
            raise ServiceError(f"line {line_no}: site {code} has no name")
        if code in seen:
            raise ServiceError(f"line {line_no}: site {code} appears twice")
        seen.add(code)
        rows.append(row)
    result = ImportResult(created=[], updated=[])
    for row in rows:
        site = session.exec(select(Site).where(Site.code == row["code"])).first()
        if site is None:
            create_site(
                session,
                code=row["code"],
                name=row["name"],
                district=row.get("district"),
                address=row.get("address"),
            )
            result.created.append(row["code"])
        else:
            site.name = row["name"]
            site.district = row.get("district") or site.district
            site.address = row.get("address") or site.address
            session.add(site)
            result.updated.append(row["code"])
    session.flush()
    return result
