"""Replacement plan, scores, unit costs and the asset register, for planners (technicians read)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints
from sqlmodel import Session

from collector.api.paging import set_page_headers
from collector.api.schemas.assets import AssetImportAnswer
from collector.api.schemas.planning import AssetPublic, ScorePublic
from collector.http.deps import CityPlanner, DbSession, Principal, Settings, allow
from collector.http.params import Id, IsoDate
from collector.http.responses import success
from collector.localtime import stamp
from collector.models.assets import MAX_COST_VND
from collector.models.core import Role
from collector.plugins import RouterSpec
from collector.reports.document import MEDIA_TYPES
from collector.services import assets as asset_svc
from collector.services import planning as plan_svc
from collector.services import planning_pages
from collector.services.errors import ServiceError
from collector.services.paging import Page
from collector.services.scoring import ScoringConfigError, load_config
from collector.settings import CollectorSettings

router = APIRouter(tags=["planning"])

# Planners and administrators change the register and prices; technicians read them.
ReaderUser = Annotated[Principal, Depends(allow(Role.ADMIN, Role.PLANNER, Role.TECHNICIAN))]
EditorUser = Annotated[Principal, Depends(allow(Role.ADMIN, Role.PLANNER))]
Format = Literal["json", "csv", "xlsx", "pdf"]
Lang = Literal["vi", "en"]

MAX_IMPORT_BYTES = 5 * 1024 * 1024
# ``CODE:N``: a site code (not blank), a colon, a count.
SITE_MIN = r"^[^:\x00]*[^:\s\x00][^:\x00]*:\s*[0-9]{1,5}\s*$"


def _fail(exc: ServiceError | ScoringConfigError) -> HTTPException:
    code = exc.status_code if isinstance(exc, ServiceError) else 500
    return HTTPException(code, str(exc))


def parse_site_minimums(values: list[str]) -> dict[str, int]:
    """``CODE:N`` pairs (from ``site_min=P01:2``) into a dict; a bad pair names itself."""
    out: dict[str, int] = {}
    for v in values:
        code, sep, n = v.partition(":")
        if not sep or not code.strip() or not n.strip().isdigit():
            raise ServiceError("site_min %(value)s: write CODE:NUMBER, e.g. P01:2", value=repr(v))
        out[code.strip()] = int(n)
    return out


def _download(data: bytes, fmt: str, filename: str) -> Response:
    from collector.reports.document import MEDIA_TYPES

    headers = {"Content-Disposition": f'attachment; filename="{filename}"'} if fmt != "json" else {}
    return Response(data, media_type=MEDIA_TYPES[fmt], headers=headers)


DOWNLOADS = success(*MEDIA_TYPES.values(), description="The document in the format asked for")


@router.get("/planning/plan", response_class=Response, responses=DOWNLOADS)
def replacement_plan(
    request: Request,
    user: ReaderUser,
    session: DbSession,
    settings: Settings,
    budget: int = Query(..., ge=0, le=10**15, description="The year's budget in VND"),
    format: Format = "json",
    lang: Lang = "vi",
    min_per_site: int = Query(0, ge=0, le=10_000, description="Minimum devices replaced per commune"),
    site_min: list[Annotated[str, StringConstraints(pattern=SITE_MIN)]] = Query(
        [], description="A commune's own minimum, CODE:N (repeatable)"
    ),
    must: list[Literal["lifecycle_to_replace", "storage_failed", "replace_now", "none"]] = Query(
        [],
        description="Must-replace rules (lifecycle_to_replace, storage_failed, replace_now); 'none' for "
        "none; default: the config file's",
    ),
    cursor: str | None = Query(None, description="X-Next-Cursor of the previous page (JSON only)."),
    limit: int = Query(500, ge=1, le=1000, description="Devices per page (JSON only)."),
) -> Response:
    """The plan in keyset pages of its order (funded devices first, then those it does not fund, then
    those it only explains); the totals (``spent``, ``remaining``, ``count``, ``by_site``,
    ``notes_count``) are the whole plan's on every page. ``notes`` holds the plan-wide notes and those of
    the communes of the page's devices; every note: ``GET /api/v1/planning/plan/notes`` with the same
    rules. Follow ``X-Next-Cursor``. CSV, XLSX and PDF hold the whole plan, every note included."""
    from collector.reports.document import letterhead_for
    from collector.reports.planning_report import export_plan, plan_filename, plan_json

    try:
        plan_rules, costs = _open_plan(session, user, settings, budget, min_per_site, site_min, must)
        if format == "json":
            page = planning_pages.plan_page(
                session, plan_rules, scope=user.site_ids, costs=costs, cursor=cursor, limit=limit
            )
            response = JSONResponse(plan_json(page, lang))
            set_page_headers(request, response, Page(rows=[], sort="rank", next_cursor=page.next_cursor))
            return response
        pages = planning_pages.iter_plan(
            session, plan_rules, scope=user.site_ids, costs=costs, only_notable=True
        )
        letterhead = letterhead_for(session, settings, user.username, lang)
        data, first = export_plan(pages, format, lang, letterhead)
    except (ServiceError, ScoringConfigError) as exc:
        raise _fail(exc) from None
    return _download(data, format, plan_filename(first, format))


@router.get("/planning/plan/notes")
def replacement_plan_notes(
    request: Request,
    user: ReaderUser,
    session: DbSession,
    settings: Settings,
    budget: int = Query(..., ge=0, le=10**15, description="The year's budget in VND"),
    lang: Lang = "vi",
    min_per_site: int = Query(0, ge=0, le=10_000, description="Minimum devices replaced per commune"),
    site_min: list[Annotated[str, StringConstraints(pattern=SITE_MIN)]] = Query(
        [], description="A commune's own minimum, CODE:N (repeatable)"
    ),
    must: list[Literal["lifecycle_to_replace", "storage_failed", "replace_now", "none"]] = Query(
        [], description="Must-replace rules, as for the plan"
    ),
    cursor: str | None = Query(None, description="X-Next-Cursor of the previous page."),
    limit: int = Query(500, ge=1, le=1000, description="Notes per page."),
) -> JSONResponse:
    """Every note of the plan with these rules, in keyset pages: the plan-wide notes (why it is empty,
    the leftover), then each commune whose minimum is not reached, by commune code. ``count``: all of
    them. Follow ``X-Next-Cursor``."""
    from collector.services.planning import render_reason

    try:
        plan_rules, _costs = _open_plan(session, user, settings, budget, min_per_site, site_min, must)
        page = planning_pages.plan_notes(session, plan_rules, scope=user.site_ids, cursor=cursor, limit=limit)
    except (ServiceError, ScoringConfigError) as exc:
        raise _fail(exc) from None
    response = JSONResponse(
        {
            "notes": [render_reason(n, lang) for n in page.notes],
            "codes": [n["code"] for n in page.notes],
            "count": page.count,
            "next_cursor": page.next_cursor,
        }
    )
    notes = Page(rows=[], sort="site", next_cursor=page.next_cursor, total=page.count)
    set_page_headers(request, response, notes)
    return response


@router.get("/planning/scores", response_model=list[ScorePublic])
def scores(
    user: ReaderUser, session: DbSession, site: str | None = None, category: str | None = None
) -> list[ScorePublic]:
    rows = asset_svc.list_registry(session, scope=user.site_ids, site_code=site, refresh=True)
    session.commit()
    return [
        ScorePublic(
            device_id=r.device.id or 0,
            hostname=r.device.hostname,
            site=r.site.code,
            device_class=r.score.device_class,
            score=r.score.score,
            category=r.score.category,
            category_reason=r.score.category_reason,
            factors=r.score.factors,
        )
        for r in rows
        if r.score is not None and (category is None or r.score.category == category)
    ]


@router.get("/planning/unit-costs")
def unit_costs(user: ReaderUser, session: DbSession, settings: Settings) -> dict[str, int]:
    return plan_svc.effective_unit_costs(session, load_config(settings))


Cost = Annotated[StrictInt | None, Field(ge=0, le=MAX_COST_VND)]  # strict: not true/false


class UnitCostsIn(BaseModel):
    """VND per device class; a class left out keeps its price."""

    model_config = ConfigDict(extra="forbid")
    desktop: Cost = None
    laptop: Cost = None
    server: Cost = None
    network_device: Cost = None
    other: Cost = None


@router.put("/planning/unit-costs")
def set_unit_costs(user: CityPlanner, session: DbSession, costs: UnitCostsIn) -> dict[str, int]:
    """Unit costs are the city's prices: only planners and administrators not limited to sites set them."""
    try:
        given = {k: v for k, v in costs.model_dump().items() if v is not None}
        out = plan_svc.set_unit_costs(session, given, actor=user.username)
    except ServiceError as exc:
        raise _fail(exc) from None
    session.commit()
    return out


# ---- asset register ----------------------------------------------------------------------------


class AssetUpdate(BaseModel):
    """Fields to change; a field left out keeps its value, ``null`` clears it."""

    model_config = ConfigDict(extra="forbid")
    asset_tag: str | None = Field(default=None, max_length=64)
    purchase_date: IsoDate | None = None
    purchase_cost: StrictInt | None = Field(default=None, ge=0, le=MAX_COST_VND)
    supplier: str | None = Field(default=None, max_length=255)
    warranty_end: IsoDate | None = None
    status: Literal["in_service", "spare", "to_replace", "retired"] | None = None
    device_class: Literal["desktop", "laptop", "server", "network_device", "other"] | None = None
    notes: str | None = Field(default=None, max_length=2000)


def _asset_public(row: asset_svc.RegistryRow) -> AssetPublic:
    a = row.asset
    return AssetPublic(
        device_id=row.device.id or 0,
        hostname=row.device.hostname,
        site=row.site.code,
        serial=row.device.serial,
        model=row.model,
        os=row.os_name,
        score=row.score.score if row.score else None,
        category=row.score.category if row.score else None,
        device_class=(
            a.device_class if a and a.device_class else (row.score.device_class if row.score else None)
        ),
        **(
            a.model_dump(
                include={
                    "asset_tag",
                    "purchase_date",
                    "purchase_cost",
                    "supplier",
                    "warranty_end",
                    "status",
                    "notes",
                }
            )
            if a
            else {}
        ),
    )


@router.get("/planning/assets", response_model=list[AssetPublic])
def list_assets(user: ReaderUser, session: DbSession, site: str | None = None) -> list[AssetPublic]:
    return [_asset_public(r) for r in asset_svc.list_registry(session, scope=user.site_ids, site_code=site)]


@router.get("/planning/assets/report", response_class=Response, responses=DOWNLOADS)
def assets_report(
    user: ReaderUser, session: DbSession, settings: Settings, format: Format = "json", lang: Lang = "vi"
) -> Response:
    from collector.reports.asset_report import render_report, report_json
    from collector.reports.document import letterhead_for

    report = asset_svc.asset_report(session, scope=user.site_ids)
    session.commit()
    if format == "json":
        # Purchase dates and warranty ends are dates: encoded as ISO text (a 500 before).
        return JSONResponse(jsonable_encoder(report_json(report, lang)))
    filename = f"bao-cao-tai-san-{stamp(report.today)}.{format}"
    letterhead = letterhead_for(session, settings, user.username, lang)
    return _download(render_report(report, format, lang, letterhead), format, filename)


def _one(session: Session, device_id: int, user: Principal) -> AssetPublic:
    rows = [r for r in asset_svc.list_registry(session, scope=user.site_ids) if r.device.id == device_id]
    if not rows:
        raise HTTPException(404, f"no device {device_id}")
    return _asset_public(rows[0])


@router.get("/planning/assets/{device_id:int}", response_model=AssetPublic)
def get_asset(device_id: Id, user: ReaderUser, session: DbSession) -> AssetPublic:
    return _one(session, device_id, user)


@router.put("/planning/assets/{device_id:int}", response_model=AssetPublic)
def put_asset(device_id: Id, body: AssetUpdate, user: EditorUser, session: DbSession) -> AssetPublic:
    fields = frozenset(body.model_fields_set)
    changes = asset_svc.AssetChanges(**body.model_dump(), fields=fields)
    try:
        asset_svc.update_asset(session, device_id, changes, scope=user.site_ids, actor=user.username)
    except ServiceError as exc:
        raise _fail(exc) from None
    session.commit()
    return _one(session, device_id, user)


def preview_json(preview: asset_svc.ImportPreview) -> dict[str, Any]:
    return {
        "summary": preview.summary(),
        "columns": preview.columns,
        "rows": [
            {
                "line": r.line,
                "action": r.action,
                "serial": r.serial,
                "asset_tag": r.asset_tag,
                "device_id": r.device_id,
                "hostname": r.hostname,
                "site": r.site,
                "matched_by": r.matched_by,
                "changes": {k: [_j(a), _j(b)] for k, (a, b) in r.changes.items()},
                "message": r.message,
            }
            for r in preview.rows
        ],
    }


def _j(v: Any) -> Any:
    return v.isoformat() if isinstance(v, date) else v


@router.post("/planning/assets/import", response_model=AssetImportAnswer)
def import_assets(
    user: EditorUser,
    session: DbSession,
    csv_text: Annotated[str, Body(media_type="text/csv", min_length=1, max_length=MAX_IMPORT_BYTES)],
    apply: bool = Query(False, description="false: preview the matches only; true: apply them"),
) -> dict[str, Any]:
    """Import an asset list (CSV; matched by asset tag, else serial). Preview first, then apply."""
    try:
        if not apply:
            return {
                "applied": False,
                **preview_json(asset_svc.preview_import(session, csv_text, scope=user.site_ids)),
            }
        outcome = asset_svc.apply_import(session, csv_text, scope=user.site_ids, actor=user.username)
    except ServiceError as exc:
        raise _fail(exc) from None
    session.commit()
    return {
        "applied": True,
        "created": outcome.created,
        "updated": outcome.updated,
        "skipped": outcome.skipped,
        **preview_json(outcome.preview),
    }


PLUGIN = RouterSpec(router)


def _open_plan(
    session: Session,
    user: Principal,
    settings: CollectorSettings,
    budget: int,
    min_per_site: int,
    site_min: list[str],
    must: list[str],
) -> tuple[planning_pages.PlanRules, dict[str, int]]:
    """The plan's rules and unit costs for the query (the plan and its notes list read the same), the
    scores refreshed on the way committed."""
    rules = None if not must else [m for m in must if m != "none"]
    opened = planning_pages.open_plan(
        session,
        budget=budget,
        scope=user.site_ids,
        min_per_site=min_per_site,
        site_minimums=parse_site_minimums(site_min),
        must_replace=rules,
        config=load_config(settings),
    )
    session.commit()
    return opened
