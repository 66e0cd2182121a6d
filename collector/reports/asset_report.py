"""The asset report: counts by type, age, OS and model per commune, the register, and its charts."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from collector.i18n import N_, format_date, translator
from collector.models.assets import ScoreCategory
from collector.reports.charts import bar_chart, stacked_bars
from collector.reports.document import Column, Document, Letterhead, Table, render
from collector.services.assets import AGE_BANDS, AssetReport, os_support_state
from collector.services.planning import class_label, status_label
from collector.services.scoring import category_label

T: dict[str, str] = {
    "title": N_("document: Asset report"),
    "made": N_("Made on {at}"),
    "devices": N_("count: Devices"),
    "sites": N_("Communes"),
    "by_site": N_("By commune"),
    "by_class": N_("By type and commune"),
    "by_age": N_("By age and commune"),
    "by_os": N_("By operating system and commune"),
    "by_model": N_("By model and commune"),
    "register": N_("Asset register"),
    "register_sheet": N_("Register"),
    "site": N_("Commune"),
    "value": N_("Value"),
    "count": N_("Count"),
    "hostname": N_("Device"),
    "serial": N_("Serial"),
    "asset_tag": N_("Asset tag"),
    "class": N_("Type"),
    "model": N_("Model"),
    "os": N_("Operating system"),
    "age": N_("Age (years)"),
    "purchase_date": N_("Purchase date"),
    "purchase_cost": N_("Purchase cost"),
    "supplier": N_("Supplier"),
    "warranty_end": N_("Warranty until"),
    "status": N_("Status"),
    "score": N_("Score"),
    "category": N_("Category"),
    "age_chart": N_("Devices by age (years)"),
    "os_chart": N_("OS support"),
    "health_chart": N_("Health categories by commune"),
    "supported": N_("supported"),
    "ending": N_("ending within 12 months"),
    "ended": N_("out of support"),
    "unknown": N_("unknown"),
    "age_unknown": N_("?"),
}


def t(key: str, lang: str) -> str:
    return translator(lang)(T[key])


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
