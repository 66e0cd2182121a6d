"""The asset report: counts by type, age, OS and model per commune, the register, and its charts."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from collector.models.assets import ScoreCategory
from collector.reports.charts import bar_chart, stacked_bars
from collector.reports.document import Column, Document, Letterhead, Table, render
from collector.services.assets import AGE_BANDS, AssetReport, os_support_state
from collector.services.plan import class_label, status_label
from collector.services.scoring import category_label
from collector.web.i18n import format_date

T: dict[str, tuple[str, str]] = {
    "title": ("Asset report", "Báo cáo tài sản thiết bị"),
    "made": ("Made on {at}", "Lập ngày {at}"),
    "devices": ("Devices", "Số thiết bị"),
    "sites": ("Communes", "Số đơn vị"),
    "by_site": ("By commune", "Theo đơn vị"),
    "by_class": ("By type and commune", "Theo loại và đơn vị"),
    "by_age": ("By age and commune", "Theo tuổi và đơn vị"),
    "by_os": ("By operating system and commune", "Theo hệ điều hành và đơn vị"),
    "by_model": ("By model and commune", "Theo mẫu máy và đơn vị"),
    "register": ("Asset register", "Sổ theo dõi tài sản"),
    "register_sheet": ("Register", "Sổ tài sản"),
    "site": ("Commune", "Đơn vị"),
    "value": ("Value", "Giá trị"),
    "count": ("Count", "Số lượng"),
    "hostname": ("Device", "Thiết bị"),
    "serial": ("Serial", "Số serial"),
    "asset_tag": ("Asset tag", "Mã tài sản"),
    "class": ("Type", "Loại"),
    "model": ("Model", "Mẫu máy"),
    "os": ("Operating system", "Hệ điều hành"),
    "age": ("Age (years)", "Tuổi (năm)"),
    "purchase_date": ("Purchase date", "Ngày mua"),
    "purchase_cost": ("Purchase cost", "Nguyên giá"),
    "supplier": ("Supplier", "Nhà cung cấp"),
    "warranty_end": ("Warranty until", "Bảo hành đến"),
    "status": ("Status", "Trạng thái"),
    "score": ("Score", "Điểm"),
    "category": ("Category", "Nhóm"),
    "age_chart": ("Devices by age (years)", "Thiết bị theo tuổi (năm)"),
    "os_chart": ("OS support", "Hỗ trợ hệ điều hành"),
    "health_chart": ("Health categories by commune", "Nhóm tình trạng theo đơn vị"),
    "supported": ("supported", "còn hỗ trợ"),
    "ending": ("ending within 12 months", "hết hỗ trợ trong 12 tháng"),
    "ended": ("out of support", "hết hỗ trợ"),
    "unknown": ("unknown", "chưa rõ"),
    "age_unknown": ("?", "chưa rõ"),
}


def t(key: str, lang: str) -> str:
    return T[key][1 if lang == "vi" else 0]


SUPPORT_KEYS = ("ended", "ending", "supported", "unknown")
CATEGORY_KEYS = [c.value for c in ScoreCategory]


def charts(report: AssetReport, lang: str = "vi") -> dict[str, str]:
    """The three SVG charts of the asset report."""
    ages = report.counter("age")
    age_items = [(t("age_unknown", lang) if b == "?" else b, ages.get(b, 0)) for b in AGE_BANDS]
    support = report.counter("support")
    support_items = [(t(k, lang), support.get(k, 0)) for k in SUPPORT_KEYS]
    colors = {
        t(k, lang): c for k, c in (("ended", "#b3261e"), ("ending", "#e07b00"), ("supported", "#2e7d32"))
    }
    colors[t("unknown", lang)] = "#9e9e9e"
    rows = [(site["name"], dict(site["category"])) for _, site in sorted(report.by_site.items())]
    keys = [(k, category_label(k, lang)) for k in CATEGORY_KEYS]
    return {
        "age": bar_chart(age_items, t("age_chart", lang)),
        "os_support": bar_chart(support_items, t("os_chart", lang), colors=colors),
        "health": stacked_bars(rows, keys, t("health_chart", lang)),
    }


def _count_table(report: AssetReport, key: str, title: str, label: Any, lang: str) -> Table:
    rows = []
    for _code, site in sorted(report.by_site.items()):
        for value, count in sorted(site[key].items(), key=lambda kv: (-kv[1], str(kv[0]))):
            rows.append({"site": site["name"], "value": label(value), "count": count})
    return Table(
        title,
        [
            Column("site", t("site", lang), width=30, weight=3),
            Column("value", t("value", lang), width=40, weight=4),
            Column("count", t("count", lang), "int", 10, weight=1),
        ],
        rows,
    )


def register_rows(report: AssetReport, lang: str) -> list[dict[str, Any]]:
    out = []
    for r in report.rows:
        a = r.asset
        out.append(
            {
                "device_id": r.device.id,
                "site": r.site.name,
                "site_code": r.site.code,
                "hostname": r.device.hostname,
                "serial": r.device.serial,
                "asset_tag": a.asset_tag if a else None,
                "class": class_label(r.score.device_class, lang) if r.score else None,
                "device_class": r.score.device_class if r.score else None,
                "model": r.model,
                "os": r.os_name,
                "os_support": os_support_state(r),
                "age": r.age_years(report.today),
                "purchase_date": a.purchase_date if a else None,
                "purchase_cost": a.purchase_cost if a else None,
                "supplier": a.supplier if a else None,
                "warranty_end": a.warranty_end if a else None,
                "status": status_label(a.status if a else "in_service", lang),
                "score": r.score.score if r.score else None,
                "category": category_label(r.score.category, lang) if r.score else None,
            }
        )
    return out


def report_document(report: AssetReport, lang: str = "vi") -> Document:
    c = Column
    register = Table(
        t("register", lang),
        [
            c("site", t("site", lang), width=24, weight=2.2),
            c("hostname", t("hostname", lang), width=20, weight=2),
            c("serial", t("serial", lang), width=16, weight=1.6),
            c("asset_tag", t("asset_tag", lang), width=14, weight=1.4),
            c("class", t("class", lang), width=16, weight=1.5),
            c("model", t("model", lang), width=24, weight=2.2),
            c("os", t("os", lang), width=26, weight=2.4),
            c("age", t("age", lang), "int", 10, weight=0.8),
            c("purchase_date", t("purchase_date", lang), "date", 13, weight=1.2),
            c("purchase_cost", t("purchase_cost", lang), "money", 15, weight=1.5),
            c("supplier", t("supplier", lang), width=20, weight=1.6),
            c("warranty_end", t("warranty_end", lang), "date", 13, weight=1.2),
            c("status", t("status", lang), width=14, weight=1.3),
            c("score", t("score", lang), "int", 8, weight=0.7),
            c("category", t("category", lang), width=20, weight=1.6),
        ],
        register_rows(report, lang),
        sheet=t("register_sheet", lang),
    )
    by_site = Table(
        t("by_site", lang),
        [
            c("site", t("site", lang), width=30, weight=3),
            c("devices", t("devices", lang), "int", 12, weight=1),
            *[c(k, category_label(k, lang), "int", 14, weight=1.2) for k in CATEGORY_KEYS],
        ],
        [
            {
                "site": s["name"],
                "devices": s["devices"],
                **{k: s["category"].get(k, 0) for k in CATEGORY_KEYS},
            }
            for _, s in sorted(report.by_site.items())
        ],
    )
    age_label = {"?": t("age_unknown", lang)}
    doc = Document(
        title=t("title", lang),
        lang=lang,
        kind="report",
        issued_on=report.today,
        subtitle=[t("made", lang).format(at=format_date(report.today, lang))],
        summary=[
            (t("devices", lang), len(report.rows), "int"),
            (t("sites", lang), len(report.by_site), "int"),
            *[(category_label(k, lang), report.counter("category").get(k, 0), "int") for k in CATEGORY_KEYS],
        ],
        tables=[
            by_site,
            _count_table(report, "class", t("by_class", lang), lambda v: class_label(v, lang), lang),
            _count_table(report, "age", t("by_age", lang), lambda v: age_label.get(v, v), lang),
            _count_table(report, "os", t("by_os", lang), str, lang),
            _count_table(report, "model", t("by_model", lang), str, lang),
            register,
        ],
        csv=register,
    )
    return doc


def report_json(report: AssetReport, lang: str = "vi") -> dict[str, Any]:
    return {
        "generated_on": report.today.isoformat(),
        "devices": len(report.rows),
        "by_site": {
            code: {
                "name": s["name"],
                "devices": s["devices"],
                **{k: dict(s[k]) for k in ("class", "age", "os", "model", "support", "category", "status")},
            }
            for code, s in sorted(report.by_site.items())
        },
        "register": [
            {k: v.isoformat() if isinstance(v, date) else v for k, v in row.items()}
            for row in register_rows(report, lang)
        ],
    }


def render_report(
    report: AssetReport, fmt: str, lang: str = "vi", letterhead: Letterhead | None = None
) -> bytes:
    if fmt == "json":
        return json.dumps(report_json(report, lang), ensure_ascii=False, indent=1, default=str).encode()
    return render(report_document(report, lang), fmt, letterhead)
