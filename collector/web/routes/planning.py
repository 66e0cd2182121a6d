"""Planning pages: the replacement plan, the asset report, the asset edit form, CSV import, unit costs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from collector.http.deps import CityPlanner, DbSession, Principal, Settings, allow
from collector.http.params import Id
from collector.localtime import stamp
from collector.models.assets import DeviceClass, LifecycleStatus
from collector.models.core import Role
from collector.plugins import Link, PageSpec
from collector.services import assets as asset_svc
from collector.services import planning as plan_svc
from collector.services import planning_pages
from collector.services.errors import NotFound, ServiceError
from collector.services.planning import PlanRules
from collector.services.scoring import category_label, factor_label, load_config, render_evidence
from collector.settings import CollectorSettings
from collector.web.i18n import N_, translator
from collector.web.setup import error_text, flash, render, request_language

router = APIRouter(include_in_schema=False)

ReaderUser = Annotated[Principal, Depends(allow(Role.ADMIN, Role.PLANNER, Role.TECHNICIAN))]
EditorUser = Annotated[Principal, Depends(allow(Role.ADMIN, Role.PLANNER))]
FORMATS = ("csv", "xlsx", "pdf", "json")
MAX_UPLOAD = 5 * 1024 * 1024


def _can_edit(user: Principal) -> bool:
    return user.role in (Role.ADMIN, Role.PLANNER)


def _can_set_costs(user: Principal) -> bool:
    # Unit costs are the city's prices, not a commune's.
    return _can_edit(user) and user.city_wide


IMPORT_LABELS: dict[str, str] = {
    "create": N_("new record"),
    "update": N_("update"),
    "unchanged": N_("unchanged"),
    "no_match": N_("no matching device"),
    "ambiguous": N_("ambiguous"),
    "conflict": N_("conflict"),
    "error": N_("import: error"),
    "serial": N_("serial number"),
    "asset_tag": N_("asset tag"),
    "purchase_date": N_("purchase date"),
    "purchase_cost": N_("purchase cost"),
    "supplier": N_("supplier"),
    "warranty_end": N_("warranty until"),
    "status": N_("status"),
    "device_class": N_("device type"),
}


def _helpers(lang: str) -> dict[str, Any]:
    _ = translator(lang)
    return {
        "import_label": lambda k: _(IMPORT_LABELS[k]) if k in IMPORT_LABELS else k,
        "category_label": lambda c: category_label(c, lang),
        "factor_label": lambda n: factor_label(n, lang),
        "evidence": lambda e: render_evidence(e, lang),
        "reason": lambda r: plan_svc.render_reason(r, lang),
        "class_label": lambda c: plan_svc.class_label(c, lang),
        "status_label": lambda s: plan_svc.status_label(s, lang),
        "must_label": lambda m: plan_svc.must_label(m, lang),
    }


def _plan_inputs(request: Request) -> dict[str, Any]:
    """The plan form's values from the query string, parsed; errors say which field."""
    q = request.query_params
    config = load_config(request.app.state.settings)
    budget_text = (q.get("budget") or "").strip()
    must = q.getlist("must") if q.get("rules") == "1" else list(config.plan.must_replace)
    return {
        "budget_text": budget_text,
        "budget": asset_svc.parse_money(budget_text, "budget") if budget_text else None,
        "min_per_site": int(q.get("min_per_site") or 0),
        "must": [m for m in must if m in plan_svc.MUST_RULES],
    }


def _query(inputs: dict[str, Any]) -> str:
    from urllib.parse import urlencode

    pairs: list[tuple[str, Any]] = [("budget", inputs["budget"]), ("min_per_site", inputs["min_per_site"])]
    pairs += [("rules", 1)] + [("must", m) for m in inputs["must"]]
    return urlencode(pairs)


PLAN_PAGE_SIZE = 100


@router.get("/planning")
def plan_page(request: Request, user: ReaderUser, session: DbSession, settings: Settings) -> Response:
    """The plan's totals and one page of its devices (keyset pages of the plan's order: ``cursor``)."""
    lang = request_language(request)
    error = None
    plan = None
    try:
        inputs = _plan_inputs(request)
        if inputs["min_per_site"] < 0:
            raise ServiceError("the minimum per commune must be zero or more")
        if inputs["budget"] is not None:
            rules, costs = _open_plan(session, user, settings, inputs)
            plan = planning_pages.plan_page(
                session,
                rules,
                scope=user.site_ids,
                costs=costs,
                cursor=request.query_params.get("cursor") or None,
                limit=PLAN_PAGE_SIZE,
            )
    except (ServiceError, ValueError) as exc:
        error = (
            exc.text(lang) if isinstance(exc, ServiceError) else error_text(exc, request_language(request))
        )
        inputs = {
            "budget_text": request.query_params.get("budget", ""),
            "budget": None,
            "min_per_site": 0,
            "must": [],
        }
        plan = None
    costs = plan_svc.effective_unit_costs(session, load_config(settings))
    query = _query(inputs) if plan else ""
    return render(
        request,
        "planning_plan.html",
        {
            "plan": plan,
            "inputs": inputs,
            "error": error,
            "rules": list(plan_svc.MUST_RULES),
            "costs": costs,
            "query": query,
            "next_href": f"/planning?{query}&cursor={plan.next_cursor}"
            if plan and plan.next_cursor
            else None,
            "first_href": f"/planning?{query}" if request.query_params.get("cursor") and plan else None,
            "formats": FORMATS,
            "can_edit": _can_edit(user),
            **_helpers(lang),
        },
    )


NOTES_PAGE_SIZE = 200


def _open_plan(
    session: Session, user: Principal, settings: CollectorSettings, inputs: dict[str, Any]
) -> tuple[PlanRules, dict[str, int]]:
    """The plan's rules and unit costs for the form's inputs (the plan and its notes page read the
    same), the scores refreshed on the way committed."""
    opened = planning_pages.open_plan(
        session,
        budget=inputs["budget"],
        scope=user.site_ids,
        min_per_site=inputs["min_per_site"],
        must_replace=inputs["must"],
        config=load_config(settings),
    )
    session.commit()
    return opened


@router.get("/planning/notes")
def plan_notes_page(request: Request, user: ReaderUser, session: DbSession, settings: Settings) -> Response:
    """Every note of the plan the query describes (``/planning`` shows its page's communes' only)."""
    lang = request_language(request)
    error = None
    page = None
    inputs: dict[str, Any] = {}
    try:
        inputs = _plan_inputs(request)
        if inputs["budget"] is None:
            raise ServiceError("enter a budget")
        if inputs["min_per_site"] < 0:
            raise ServiceError("the minimum per commune must be zero or more")
        rules, _costs = _open_plan(session, user, settings, inputs)
        page = planning_pages.plan_notes(
            session,
            rules,
            scope=user.site_ids,
            cursor=request.query_params.get("cursor") or None,
            limit=NOTES_PAGE_SIZE,
        )
    except (ServiceError, ValueError) as exc:
        error = exc.text(lang) if isinstance(exc, ServiceError) else error_text(exc, lang)
        page = None
    query = _query(inputs) if page else ""
    return render(
        request,
        "planning_notes.html",
        {
            "page": page,
            "error": error,
            "query": query,
            "next_href": f"/planning/notes?{query}&cursor={page.next_cursor}"
            if page and page.next_cursor
            else None,
            "first_href": f"/planning/notes?{query}" if request.query_params.get("cursor") and page else None,
            **_helpers(lang),
        },
    )


@router.get("/planning/plan.{fmt}")
def plan_download(
    fmt: str, request: Request, user: ReaderUser, session: DbSession, settings: Settings
) -> Response:
    from collector.reports.document import MEDIA_TYPES, letterhead_for
    from collector.reports.planning_report import export_plan, plan_filename

    if fmt not in FORMATS:
        return render(request, "error.html", {"code": 404}, status_code=404)
    lang = request_language(request)
    try:
        inputs = _plan_inputs(request)
        if inputs["budget"] is None:
            raise ServiceError("enter a budget")
        rules, costs = _open_plan(session, user, settings, inputs)
        pages = planning_pages.iter_plan(
            session, rules, scope=user.site_ids, costs=costs, only_notable=fmt != "json"
        )
        data, first = export_plan(pages, fmt, lang, letterhead_for(session, settings, user.username, lang))
    except (ServiceError, ValueError) as exc:
        return render(
            request,
            "error.html",
            {"code": 400, "message": error_text(exc, request_language(request))},
            status_code=400,
        )
    headers = {"Content-Disposition": f'attachment; filename="{plan_filename(first, fmt)}"'}
    return Response(data, media_type=MEDIA_TYPES[fmt], headers=headers)


@router.get("/planning/assets")
def assets_page(request: Request, user: ReaderUser, session: DbSession) -> Response:
    from collector.reports.asset_report import CATEGORY_KEYS, charts, register_rows, report_document

    lang = request_language(request)
    report = asset_svc.asset_report(session, scope=user.site_ids)
    session.commit()
    return render(
        request,
        "planning_assets.html",
        {
            "report": report,
            "charts": charts(report, lang),
            "rows": register_rows(report, lang),
            # The export's count tables (type, age, OS, model per commune), shown folded.
            "count_tables": report_document(report, lang).tables[1:5],
            "category_keys": CATEGORY_KEYS,
            "formats": FORMATS,
            "can_edit": _can_edit(user),
            **_helpers(lang),
        },
    )


@router.get("/planning/assets/report.{fmt}")
def assets_download(
    fmt: str, request: Request, user: ReaderUser, session: DbSession, settings: Settings
) -> Response:
    from collector.reports.asset_report import render_report
    from collector.reports.document import MEDIA_TYPES, letterhead_for

    if fmt not in FORMATS:
        return render(request, "error.html", {"code": 404}, status_code=404)
    report = asset_svc.asset_report(session, scope=user.site_ids)
    session.commit()
    lang = request_language(request)
    data = render_report(report, fmt, lang, letterhead_for(session, settings, user.username, lang))
    headers = {"Content-Disposition": f'attachment; filename="bao-cao-tai-san-{stamp(report.today)}.{fmt}"'}
    return Response(data, media_type=MEDIA_TYPES[fmt], headers=headers)


def _asset_context(session: Any, device_id: int, user: Principal, lang: str) -> dict[str, Any]:
    device, asset = asset_svc.get_asset(session, device_id, scope=user.site_ids)
    from collector.models.assets import DeviceScore

    return {
        "device": device,
        "asset": asset,
        "score": session.get(DeviceScore, device_id),
        "statuses": [s.value for s in LifecycleStatus],
        "classes": [c.value for c in DeviceClass],
        "can_edit": _can_edit(user),
        **_helpers(lang),
    }


@router.get("/planning/assets/{device_id}")
def asset_form(device_id: Id, request: Request, user: ReaderUser, session: DbSession) -> Response:
    try:
        ctx = _asset_context(session, device_id, user, request_language(request))
    except NotFound:
        return render(request, "error.html", {"code": 404}, status_code=404)
    return render(request, "planning_asset_edit.html", {**ctx, "form": None, "error": None})


def _form_changes(form: Any) -> asset_svc.AssetChanges:
    def text(name: str) -> str:
        value = form.get(name)
        return value.strip() if isinstance(value, str) else ""

    return asset_svc.AssetChanges(
        asset_tag=text("asset_tag") or None,
        purchase_date=asset_svc.parse_date(text("purchase_date"), "purchase date"),
        purchase_cost=asset_svc.parse_money(text("purchase_cost"), "purchase cost"),
        supplier=text("supplier") or None,
        warranty_end=asset_svc.parse_date(text("warranty_end"), "warranty end"),
        status=text("status") or LifecycleStatus.IN_SERVICE,
        device_class=text("device_class") or None,
        notes=text("notes") or None,
        fields=frozenset(asset_svc.EDITABLE) | {"notes"},
    )


# The POST handlers below read the form on the event loop (it streams in), then do their database work
# in a worker thread: a slow import never stalls other pages.


@router.post("/planning/assets/{device_id}")
async def asset_save(device_id: Id, request: Request, user: EditorUser, session: DbSession) -> Response:
    form = await request.form()
    return await run_in_threadpool(_asset_save, device_id, request, form, user, session)


def _asset_save(device_id: int, request: Request, form: Any, user: Principal, session: Session) -> Response:
    lang = request_language(request)
    try:
        asset_svc.update_asset(
            session, device_id, _form_changes(form), scope=user.site_ids, actor=user.username
        )
    except NotFound:
        return render(request, "error.html", {"code": 404}, status_code=404)
    except ServiceError as exc:
        session.rollback()
        ctx = _asset_context(session, device_id, user, lang)
        return render(
            request,
            "planning_asset_edit.html",
            {**ctx, "form": dict(form), "error": error_text(exc, request_language(request))},
            status_code=400,
        )
    session.commit()
    from collector.web.i18n import translator

    response = RedirectResponse(f"/planning/assets/{device_id}", status_code=303)
    return flash(response, translator(lang)("Asset record saved."), "ok")


@router.get("/planning/import")
def import_form(request: Request, user: EditorUser) -> Response:
    return render(request, "planning_import.html", {"preview": None, "csv_text": "", "error": None})


async def _uploaded_text(form: Any) -> str:
    upload = form.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        raw = await upload.read(MAX_UPLOAD + 1)
        if len(raw) > MAX_UPLOAD:
            raise ServiceError("the file is larger than 5 MB")
        for encoding in ("utf-8-sig", "cp1258"):
            try:
                return raw.decode(encoding)
            except UnicodeDecodeError:
                continue
        raise ServiceError("the file is not UTF-8 text; save it as 'CSV UTF-8'")
    text = form.get("csv_text")
    return text if isinstance(text, str) else ""


@router.post("/planning/import")
async def import_preview(request: Request, user: EditorUser, session: DbSession) -> Response:
    form = await request.form()
    try:
        text = await _uploaded_text(form)
    except ServiceError as exc:
        return _import_error(request, exc)
    return await run_in_threadpool(_import_preview, request, text, user, session)


def _import_error(request: Request, exc: ServiceError) -> Response:
    return render(
        request,
        "planning_import.html",
        {"preview": None, "csv_text": "", "error": error_text(exc, request_language(request))},
        status_code=400,
    )


def _import_preview(request: Request, text: str, user: Principal, session: Session) -> Response:
    lang = request_language(request)
    try:
        preview = asset_svc.preview_import(session, text, scope=user.site_ids)
    except ServiceError as exc:
        return _import_error(request, exc)
    return render(
        request,
        "planning_import.html",
        {"preview": preview, "csv_text": text, "error": None, **_helpers(lang)},
    )


@router.post("/planning/import/apply")
async def import_apply(request: Request, user: EditorUser, session: DbSession) -> Response:
    form = await request.form()
    text = form.get("csv_text")
    return await run_in_threadpool(
        _import_apply, request, text if isinstance(text, str) else "", user, session
    )


def _import_apply(request: Request, text: str, user: Principal, session: Session) -> Response:
    lang = request_language(request)
    try:
        outcome = asset_svc.apply_import(session, text, scope=user.site_ids, actor=user.username)
    except ServiceError as exc:
        return _import_error(request, exc)
    session.commit()
    from collector.web.i18n import translator

    _ = translator(lang)
    message = _("Import applied: %(created)s created, %(updated)s updated, %(skipped)s skipped.") % {
        "created": outcome.created,
        "updated": outcome.updated,
        "skipped": outcome.skipped,
    }
    return flash(RedirectResponse("/planning/assets", status_code=303), message, "ok")


@router.get("/planning/costs")
def costs_page(request: Request, user: ReaderUser, session: DbSession, settings: Settings) -> Response:
    lang = request_language(request)
    config = load_config(settings)
    return render(
        request,
        "planning_costs.html",
        {
            "costs": plan_svc.effective_unit_costs(session, config),
            "defaults": config.unit_costs,
            "classes": [c.value for c in DeviceClass],
            "can_edit": _can_set_costs(user),
            "error": None,
            **_helpers(lang),
        },
    )


@router.post("/planning/costs")
async def costs_save(request: Request, user: CityPlanner, session: DbSession, settings: Settings) -> Response:
    form = await request.form()
    return await run_in_threadpool(_costs_save, request, form, user, session, settings)


def _costs_save(
    request: Request, form: Any, user: Principal, session: Session, settings: CollectorSettings
) -> Response:
    lang = request_language(request)
    config = load_config(settings)
    try:
        costs: dict[str, int] = {}
        for cls in DeviceClass:
            value = form.get(f"cost_{cls.value}")
            if isinstance(value, str) and value.strip():
                amount = asset_svc.parse_money(value, f"unit cost of {cls.value}")
                if amount is not None:
                    costs[cls.value] = amount
        plan_svc.set_unit_costs(session, costs, actor=user.username)
    except ServiceError as exc:
        session.rollback()
        return render(
            request,
            "planning_costs.html",
            {
                "costs": plan_svc.effective_unit_costs(session, config),
                "defaults": config.unit_costs,
                "classes": [c.value for c in DeviceClass],
                "can_edit": True,
                "error": error_text(exc, request_language(request)),
                **_helpers(lang),
            },
            status_code=400,
        )
    session.commit()
    from collector.web.i18n import translator

    return flash(
        RedirectResponse("/planning/costs", status_code=303), translator(lang)("Unit costs saved."), "ok"
    )


PLUGIN = PageSpec(
    router,
    # One entry: the plan, the asset report, unit costs and the import are tabs under /planning.
    nav=(Link(60, "Procurement planning", "/planning"),),
)
