"""The replacement plan as a document (CSV, XLSX, PDF) and as JSON."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from collector.i18n import N_, format_date, format_money, translator
from collector.localtime import stamp
from collector.reports.document import Column, Document, Letterhead, Table, render
from collector.services.planning import NonPick, Plan, PlanItem, class_label, must_label, render_reason
from collector.services.planning_pages import PlanPage
from collector.services.scoring import category_label

AnyPlan = Plan | PlanPage

T: dict[str, str] = {
    "title": N_("Equipment replacement plan"),
    "made": N_("Made on {at}; budget {budget}"),
    "method": N_(
        "Devices are ranked by risk reduced per cost (score / unit cost) after the must-replace rules and "
        "the commune minimums; the plan funds the ranking in order until the budget runs out."
    ),
    "budget": N_("Budget"),
    "spent": N_("Allocated"),
    "remaining": N_("Remaining"),
    "count": N_("count: Devices to replace"),
    "minimum": N_("Minimum per commune"),
    "must": N_("Must-replace rules"),
    "none": N_("none"),
    "picks": N_("Devices to replace"),
    "picks_sheet": N_("Plan"),
    "skips": N_("Devices not funded (notable)"),
    "skips_sheet": N_("Not funded"),
    "sites": N_("By commune"),
    "rank": N_("Rank"),
    "site": N_("Commune"),
    "hostname": N_("Device"),
    "asset_tag": N_("Asset tag"),
    "class": N_("Type"),
    "model": N_("Model"),
    "score": N_("Score"),
    "category": N_("Category"),
    "cost": N_("Unit cost"),
    "cumulative": N_("Running total"),
    "basis": N_("Why picked"),
    "reasons": N_("Reasons"),
    "why_not": N_("Why not funded"),
    "devices": N_("count: Devices"),
    "amount": N_("Amount"),
    "decision": N_("Decision"),
    "picked": N_("replace"),
    "not_picked": N_("not funded"),
}


def t(key: str, lang: str) -> str:
    return translator(lang)(T[key])


def _pick_row(p: PlanItem, lang: str) -> dict[str, Any]:
    c = p.candidate
    return {
        "rank": p.rank,
        "site": c.site_name,
        "hostname": c.hostname,
        "asset_tag": c.asset_tag,
        "class": class_label(c.device_class, lang),
        "model": c.model,
        "score": c.score,
        "category": category_label(c.category, lang),
        "cost": c.cost,
        "cumulative": p.cumulative,
        "basis": render_reason(p.reason, lang),
        "reasons": "\n".join(c.reasons(lang)),
        "decision": t("picked", lang),
    }


def _skip_row(n: NonPick, lang: str) -> dict[str, Any]:
    c = n.candidate
    return {
        "rank": n.rank,
        "site": c.site_name,
        "hostname": c.hostname,
        "asset_tag": c.asset_tag,
        "class": class_label(c.device_class, lang),
        "model": c.model,
        "score": c.score,
        "category": category_label(c.category, lang),
        "cost": c.cost,
        "why_not": render_reason(n.reason, lang),
        "basis": render_reason(n.reason, lang),
        "reasons": "\n".join(c.reasons(lang)),
        "decision": t("not_picked", lang),
    }


def _count(plan: AnyPlan) -> int:
    return plan.picked if isinstance(plan, PlanPage) else len(plan.picks)


def plan_document(
    plan: AnyPlan,
    lang: str = "vi",
    pick_rows: list[dict[str, Any]] | None = None,
    skip_rows: list[dict[str, Any]] | None = None,
) -> Document:
    """The plan as a document; ``pick_rows``/``skip_rows`` (``_pick_row``/``_skip_row`` of every page of a
    ``PlanPage`` stream) replace ``plan``'s own picks and notable non-picks."""
    if pick_rows is None:
        pick_rows = [_pick_row(p, lang) for p in plan.picks]
    if skip_rows is None:
        skip_rows = [_skip_row(n, lang) for n in plan.notable_non_picks]
    r = plan.rules
    musts = "; ".join(must_label(m, lang) for m in r.must_replace) or t("none", lang)
    minimum = str(r.min_per_site) if r.min_per_site else t("none", lang)
    if r.site_minimums:
        minimum += " (" + ", ".join(f"{k}: {v}" for k, v in sorted(r.site_minimums.items())) + ")"
    doc = Document(
        title=t("title", lang),
        lang=lang,
        kind="proposal",
        issued_on=plan.generated_at.date(),
        subtitle=[
            t("made", lang).format(at=format_date(plan.generated_at, lang), budget=format_money(r.budget)),
            t("method", lang),
        ],
        summary=[
            (t("budget", lang), r.budget, "money"),
            (t("spent", lang), plan.spent, "money"),
            (t("remaining", lang), plan.remaining, "money"),
            (t("count", lang), _count(plan), "int"),
            (t("minimum", lang), minimum, "text"),
            (t("must", lang), musts, "text"),
        ],
        notes=[render_reason(n, lang) for n in plan.notes],
    )
    c = Column
    common = [
        c("site", t("site", lang), weight=2.2),
        c("hostname", t("hostname", lang), weight=2.2),
        c("asset_tag", t("asset_tag", lang), weight=1.4),
        c("class", t("class", lang), weight=1.6),
        c("model", t("model", lang), weight=2.2),
        c("score", t("score", lang), "int", 7, weight=1.0),
        c("category", t("category", lang), weight=1.7),
        c("cost", t("cost", lang), "money", 15, weight=2.1),
    ]
    picks = Table(
        t("picks", lang),
        [c("rank", t("rank", lang), "int", 8, weight=1.0), *common]
        + [
            c("cumulative", t("cumulative", lang), "money", 16, weight=2.2),
            c("basis", t("basis", lang), width=40, weight=3.0),
            c("reasons", t("reasons", lang), width=70, weight=5.5),
        ],
        pick_rows,
        sheet=t("picks_sheet", lang),
    )
    skips = Table(
        t("skips", lang),
        [c("rank", t("rank", lang), "int", 8, weight=1.0), *common]
        + [
            c("why_not", t("why_not", lang), width=45, weight=5.0),
            c("reasons", t("reasons", lang), width=70, weight=5.5, in_pdf=False),
        ],
        skip_rows,
        sheet=t("skips_sheet", lang),
    )
    sites = Table(
        t("sites", lang),
        [
            c("name", t("site", lang), width=32, weight=3),
            c("count", t("devices", lang), "int", 12, weight=1),
            c("cost", t("amount", lang), "money", 18, weight=1.5),
        ],
        plan.by_site(),
    )
    doc.tables = [picks, skips, sites]
    doc.csv = Table(
        t("picks", lang),
        [
            c("decision", t("decision", lang)),
            c("rank", t("rank", lang), "int"),
            *common,
            c("basis", t("basis", lang)),
            c("reasons", t("reasons", lang)),
        ],
        pick_rows + skip_rows,
    )
    return doc


def _candidate_json(c: Any, lang: str, *, factors: bool = True) -> dict[str, Any]:
    out = {
        "device_id": c.device_id,
        "hostname": c.hostname,
        "site": c.site_code,
        "site_name": c.site_name,
        "device_class": c.device_class,
        "model": c.model,
        "serial": c.serial,
        "asset_tag": c.asset_tag,
        "score": c.score,
        "category": c.category,
        "category_label": category_label(c.category, lang),
        "unit_cost": c.cost,
        "reasons": c.reasons(lang),
    }
    if factors:
        out["factors"] = list(c.factors)
    return out


def plan_json(plan: AnyPlan, lang: str = "vi") -> dict[str, Any]:
    r = plan.rules
    return {
        "generated_at": plan.generated_at.isoformat(),
        "currency": "VND",
        "budget": r.budget,
        "spent": plan.spent,
        "remaining": plan.remaining,
        "rules": {
            "min_per_site": r.min_per_site,
            "site_minimums": r.site_minimums,
            "must_replace": list(r.must_replace),
            "min_score": r.min_score,
        },
        "unit_costs": plan.unit_costs,
        "picks": [
            {
                "rank": p.rank,
                "phase": p.phase,
                "cumulative": p.cumulative,
                "reason": render_reason(p.reason, lang),
                "reason_code": p.reason["code"],
                **_candidate_json(p.candidate, lang),
            }
            for p in plan.picks
        ],
        "non_picks": [
            {
                "rank": n.rank,
                "notable": n.notable,
                "reason": render_reason(n.reason, lang),
                "reason_code": n.reason["code"],
                **_candidate_json(n.candidate, lang, factors=False),
            }
            for n in plan.non_picks
        ],
        # The plan-wide notes and those of the page's communes; ``notes_count``: the whole plan's (every
        # one: GET /api/v1/planning/plan/notes). The exports' JSON holds them all.
        "notes": [render_reason(n, lang) for n in plan.notes],
        "notes_count": plan.notes_count if isinstance(plan, PlanPage) else len(plan.notes),
        "by_site": plan.by_site(),
        # The whole plan's counts (a page lists ``limit`` devices of it; follow X-Next-Cursor).
        "count": _count(plan),
        "next_cursor": plan.next_cursor if isinstance(plan, PlanPage) else None,
    }


def export_plan(
    pages: Iterable[PlanPage], fmt: str, lang: str = "vi", letterhead: Letterhead | None = None
) -> tuple[bytes, PlanPage]:
    """The whole plan from its pages (``planning_pages.iter_plan``): each page becomes plain rows and is
    dropped, so one batch of devices is in memory at a time, not the whole fleet's."""
    import json

    first: PlanPage | None = None
    pick_rows: list[dict[str, Any]] = []
    skip_rows: list[dict[str, Any]] = []
    picks_json: list[dict[str, Any]] = []
    non_picks_json: list[dict[str, Any]] = []
    for page in pages:
        first = first or page
        if fmt == "json":
            data = plan_json(page, lang)
            picks_json += data["picks"]
            non_picks_json += data["non_picks"]
        else:
            pick_rows += [_pick_row(p, lang) for p in page.picks]
            skip_rows += [_skip_row(n, lang) for n in page.notable_non_picks]
    assert first is not None  # iter_plan yields at least one page
    if fmt == "json":
        whole = {
            **plan_json(first, lang),
            "picks": picks_json,
            "non_picks": non_picks_json,
            "next_cursor": None,
        }
        return json.dumps(whole, ensure_ascii=False, indent=1, default=str).encode(), first
    return render(plan_document(first, lang, pick_rows, skip_rows), fmt, letterhead), first


def render_plan(plan: Plan, fmt: str, lang: str = "vi", letterhead: Letterhead | None = None) -> bytes:
    if fmt == "json":
        import json

        return json.dumps(plan_json(plan, lang), ensure_ascii=False, indent=1, default=str).encode()
    return render(plan_document(plan, lang), fmt, letterhead)


def plan_filename(plan: AnyPlan, fmt: str) -> str:
    return f"ke-hoach-thay-the-{stamp(plan.generated_at)}.{fmt}"
