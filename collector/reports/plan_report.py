"""The replacement plan as a document (CSV, XLSX, PDF) and as JSON."""

from __future__ import annotations

from typing import Any

from collector.localtime import stamp
from collector.reports.document import Column, Document, Letterhead, Table, render
from collector.services.plan import MUST_RULES, NonPick, Plan, PlanItem, class_label, render_reason
from collector.services.scoring import category_label
from collector.web.i18n import format_date, format_money

T: dict[str, tuple[str, str]] = {
    "title": ("Equipment replacement plan", "Kế hoạch thay thế thiết bị"),
    "made": ("Made on {at}; budget {budget}", "Lập ngày {at}; kinh phí (dự toán) {budget}"),
    "method": (
        "Devices are ranked by risk reduced per cost (score / unit cost) after the must-replace rules and "
        "the commune minimums; the plan funds the ranking in order until the budget runs out.",
        "Thiết bị được xếp theo mức giảm rủi ro trên chi phí (điểm / đơn giá), sau các quy tắc bắt buộc thay "
        "thế và mức tối thiểu mỗi đơn vị; kế hoạch cấp kinh phí theo thứ tự đó cho đến khi hết kinh phí.",
    ),
    "budget": ("Budget", "Kinh phí (dự toán)"),
    "spent": ("Allocated", "Đã phân bổ"),
    "remaining": ("Remaining", "Còn lại"),
    "count": ("Devices to replace", "Số thiết bị thay thế"),
    "minimum": ("Minimum per commune", "Tối thiểu mỗi đơn vị"),
    "must": ("Must-replace rules", "Quy tắc bắt buộc thay thế"),
    "none": ("none", "không có"),
    "picks": ("Devices to replace", "Thiết bị được chọn thay thế"),
    "picks_sheet": ("Plan", "Kế hoạch"),
    "skips": ("Devices not funded (notable)", "Thiết bị chưa được chọn (cần lưu ý)"),
    "skips_sheet": ("Not funded", "Chưa được chọn"),
    "sites": ("By commune", "Theo đơn vị"),
    "rank": ("Rank", "Thứ tự"),
    "site": ("Commune", "Đơn vị"),
    "hostname": ("Device", "Thiết bị"),
    "asset_tag": ("Asset tag", "Mã tài sản"),
    "class": ("Type", "Loại"),
    "model": ("Model", "Mẫu máy"),
    "score": ("Score", "Điểm"),
    "category": ("Category", "Nhóm"),
    "cost": ("Unit cost", "Đơn giá"),
    "cumulative": ("Running total", "Lũy kế"),
    "basis": ("Why picked", "Căn cứ chọn"),
    "reasons": ("Reasons", "Lý do thay thế"),
    "why_not": ("Why not funded", "Lý do chưa chọn"),
    "devices": ("Devices", "Số thiết bị"),
    "amount": ("Amount", "Kinh phí"),
    "decision": ("Decision", "Quyết định"),
    "picked": ("replace", "thay thế"),
    "not_picked": ("not funded", "chưa chọn"),
}


def t(key: str, lang: str) -> str:
    return T[key][1 if lang == "vi" else 0]


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


def plan_document(plan: Plan, lang: str = "vi") -> Document:
    r = plan.rules
    musts = "; ".join(MUST_RULES[m][1 if lang == "vi" else 0] for m in r.must_replace) or t("none", lang)
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
            (t("count", lang), len(plan.picks), "int"),
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
        [_pick_row(p, lang) for p in plan.picks],
        sheet=t("picks_sheet", lang),
    )
    skips = Table(
        t("skips", lang),
        [c("rank", t("rank", lang), "int", 8, weight=1.0), *common]
        + [
            c("why_not", t("why_not", lang), width=45, weight=5.0),
            c("reasons", t("reasons", lang), width=70, weight=5.5, in_pdf=False),
        ],
        [_skip_row(n, lang) for n in plan.notable_non_picks],
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
        [_pick_row(p, lang) for p in plan.picks] + [_skip_row(n, lang) for n in plan.notable_non_picks],
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


def plan_json(plan: Plan, lang: str = "vi") -> dict[str, Any]:
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
        "notes": [render_reason(n, lang) for n in plan.notes],
        "by_site": plan.by_site(),
    }


def render_plan(plan: Plan, fmt: str, lang: str = "vi", letterhead: Letterhead | None = None) -> bytes:
    if fmt == "json":
        import json

        return json.dumps(plan_json(plan, lang), ensure_ascii=False, indent=1, default=str).encode()
    return render(plan_document(plan, lang), fmt, letterhead)


def plan_filename(plan: Plan, fmt: str) -> str:
    return f"ke-hoach-thay-the-{stamp(plan.generated_at)}.{fmt}"
