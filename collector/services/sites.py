"""Sites (communes and wards): create, import from CSV, list within a user's scope.

The city has two levels of government (city, commune): a site has no district, only an optional free
``group`` label (a cluster of communes) used to filter the overview.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlmodel import Session, select

from collector.models.core import Site
from collector.services.csv_import import read_csv
from collector.services.errors import Conflict, NotFound, ServiceError

CODE_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def create_site(
    session: Session, *, code: str, name: str, group: str | None = None, address: str | None = None
) -> Site:
    code = code.strip()
    if not CODE_RE.match(code):
        raise ServiceError(
            "site code %(code)s must be 1-64 letters, digits, '.', '_' or '-'", code=repr(code)
        )
    if not name.strip():
        raise ServiceError("site %(code)s: a name is required", code=code)
    group = (group or "").strip() or None
    _check_lengths(code, name=name.strip(), group=group, address=address)
    if session.exec(select(Site).where(Site.code == code)).first():
        raise Conflict("site %(code)s already exists", code=code)
    site = Site(code=code, name=name.strip(), group_name=group, address=address or None)
    session.add(site)
    session.flush()
    return site


# The columns' sizes (collector/models/core.py Site): PostgreSQL refuses longer text with an error
# that would name no row, so a long value is refused here, saying which field and how long.
MAX_LENGTHS = {"name": 255, "group": 255, "address": 500}
# Since July 2025 the city has two levels (city, commune): a file that still names districts is
# refused with this explanation rather than silently dropping the column.
NO_DISTRICT = (
    "the column 'district' is no longer used (there are no districts since July 2025); rename it to "
    "'group' to keep its values as a free group label"
)


def _check_lengths(code: str, **values: str | None) -> None:
    for field, value in values.items():
        limit = MAX_LENGTHS[field]
        if value and len(value) > limit:
            raise ServiceError(
                "site %(code)s: %(field)s is %(n)s characters; at most %(limit)s",
                code=code,
                field=field,
                n=len(value),
                limit=limit,
            )


def get_site_by_code(session: Session, code: str) -> Site:
    site = session.exec(select(Site).where(Site.code == code)).first()
    if site is None:
        raise NotFound("no site with code %(code)s", code=repr(code))
    return site


@dataclass
class ImportResult:
    created: list[str]
    updated: list[str]


def import_sites_csv(session: Session, text: str) -> ImportResult:
    """Create or rename sites from CSV with columns code,name[,group,address], separated by , ; or tab.

    All rows are checked before anything is written: one bad row names its line and changes nothing.
    """
    table = read_csv(text)  # the rules every CSV import follows (collector.services.csv_import)
    if not {"code", "name"} <= set(table.columns):
        raise ServiceError("the CSV needs a header row with at least the columns: code,name")
    if "district" in table.columns:
        raise ServiceError("line 1: %(no_district)s", no_district=NO_DISTRICT)
    rows: list[dict[str, str]] = []
    seen: set[str] = set()
    for line_no, row in table.rows:
        code, name = row.get("code", ""), row.get("name", "")
        if not CODE_RE.match(code):
            raise ServiceError(
                "line %(line_no)s: site code %(code)s is not valid", line_no=line_no, code=repr(code)
            )
        if not name:
            raise ServiceError("line %(line_no)s: site %(code)s has no name", line_no=line_no, code=code)
        if code in seen:
            raise ServiceError("line %(line_no)s: site %(code)s appears twice", line_no=line_no, code=code)
        try:
            _check_lengths(code, name=name, group=row.get("group"), address=row.get("address"))
        except ServiceError as exc:
            raise ServiceError("line %(line_no)s: %(exc)s", line_no=line_no, exc=exc) from None
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
                group=row.get("group"),
                address=row.get("address"),
            )
            result.created.append(row["code"])
        else:
            site.name = row["name"]
            site.group_name = row.get("group") or site.group_name
            site.address = row.get("address") or site.address
            session.add(site)
            result.updated.append(row["code"])
    session.flush()
    return result
