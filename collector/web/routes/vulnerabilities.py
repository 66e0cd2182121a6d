"""Vulnerability pages: by CVE, by program and by site (KEV first), one CVE, a device's tab, the CSV
and XLSX exports, the overview's counts and the administrators' page of unmapped program names."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import Response
from sqlmodel import Session

from collector.http.deps import AdminUser, AnyUser, CityAdmin, DbSession, Principal
from collector.http.params import Id
from collector.plugins import Link, PageSpec
from collector.reports.document import Column, Document, Table, to_csv, to_xlsx
from collector.reports.spreadsheet import safe_cell
from collector.services import console, vuln_data, vulns
from collector.services.devices import get_device, list_sites, site_in_scope
from collector.services.errors import NotFound, ServiceError
from collector.vulns.mapping import load_map
from collector.web.i18n import format_date, translator
from collector.web.setup import device_tabs, flash, redirect, render, request_language, translator_for

router = APIRouter(include_in_schema=False)

VIEWS = ("cve", "product", "site")
NVD_NOTICE = "This product uses data from the NVD API but is not endorsed or certified by the NVD."


def _overview_context(session: Session, principal: Principal) -> dict[str, Any]:
    return {
        "vuln_counts": vulns.counts(session, scope=principal.site_ids),
        "vuln_status": vuln_data.data_status(session),
    }


def _kev(value: str | None) -> bool | None:
    return {"1": True, "true": True, "0": False, "false": False}.get((value or "").lower())


def _site_id(session: Session, code: str, user: Principal) -> int | None:
    if not code:
        return None
    try:
        return site_in_scope(session, code, scope=user.site_ids).id
    except NotFound:
        raise HTTPException(404) from None  # out of scope looks exactly like missing


@router.get("/vulnerabilities")
def vulnerabilities_page(
    request: Request,
    user: AnyUser,
    session: DbSession,
    view: str = "cve",
    site: str = Query("", max_length=64),
    kev: str = Query("", max_length=8),
    product: str = Query("", max_length=401),
) -> Response:
    view = view if view in VIEWS else "cve"
    site_id = _site_id(session, site.strip(), user)
    only_kev = _kev(kev)
    product = product.strip()
    filters = {"site": site.strip(), "kev": kev if only_kev is not None else "", "product": product}
    query = urlencode({k: v for k, v in filters.items() if v})
    context: dict[str, Any] = {
        "view": view,
        "filters": filters,
        "query": query,
        "sites": [r.site for r in list_sites(session, scope=user.site_ids)],
        "status": vuln_data.data_status(session),
        "counts": vulns.counts(session, scope=user.site_ids, site_id=site_id),
        "nvd_notice": NVD_NOTICE,
    }
    if view == "cve":
        context["rows"] = vulns.by_cve(
            session, scope=user.site_ids, site_id=site_id, kev=only_kev, product=product
        )
    elif view == "product":
        context["rows"] = vulns.by_product(
            session, scope=user.site_ids, site_id=site_id, kev=only_kev, product=product
        )
    else:
        context["rows"] = vulns.by_site(session, scope=user.site_ids, kev=only_kev, product=product)
    return render(request, "vulnerabilities.html", context)


@router.get("/vulnerabilities/cve/{cve_id}")
def cve_page(request: Request, cve_id: str, user: AnyUser, session: DbSession) -> Response:
    try:
        cve, kev = vulns.cve_detail(session, cve_id=cve_id[:32])
    except NotFound:
        raise HTTPException(404) from None
    rows = [r for r in vulns.device_products(session, scope=user.site_ids) if cve.id in r.cves]
    return render(
        request, "vulnerability_cve.html", {"cve": cve, "kev": kev, "rows": rows, "nvd_notice": NVD_NOTICE}
    )


@router.get("/devices/{device_id}/vulnerabilities")
def device_vulnerabilities(request: Request, device_id: Id, user: AnyUser, session: DbSession) -> Response:
    try:
        device = get_device(session, device_id, scope=user.site_ids)
    except NotFound:
        raise HTTPException(404) from None
    context = {
        "device": device,
        "site": console.site_of(session, device.site_id),
        "tabs": device_tabs(user, device_id),
        "rows": vulns.device_products(session, scope=user.site_ids, device_id=device_id),
        "status": vuln_data.data_status(session),
        "nvd_notice": NVD_NOTICE,
    }
    return render(request, "vulnerabilities_device.html", context)


def export_document(rows: list[vulns.DeviceProductRow], lang: str) -> Document:
    _ = translator(lang)
    columns = [
        Column("kev", _("Known exploited (KEV)"), width=10),
        Column("site", _("Site"), width=10),
        Column("hostname", _("Device"), width=18),
        Column("label", _("Software"), width=24),
        Column("installed", _("Installed version"), width=16),
        Column("fixed", _("First fixed version"), width=16),
        Column("severity", _("Severity"), width=10),
        Column("cves", _("CVE"), width=60),
    ]
    data = [
        {
            "kev": _("yes") if r.kev else _("no"),
            "site": safe_cell(r.site_code),
            "hostname": safe_cell(r.hostname),
            "label": safe_cell(r.label),
            "installed": safe_cell(r.installed_version or ""),
            "fixed": safe_cell(r.fixed_version or ""),
            "severity": r.severity or "",
            "cves": ", ".join(r.cves),
        }
        for r in rows
    ]
    table = Table(_("Vulnerabilities"), columns, data, sheet=_("Vulnerabilities"))
    return Document(
        title=_("Known vulnerabilities"),
        lang=lang,
        subtitle=[format_date(datetime.now(UTC), lang)],
        tables=[table],
        notes=[_(NVD_NOTICE)],
    )


@router.get("/vulnerabilities/export.{fmt}")
def export(
    request: Request,
    fmt: str,
    user: AnyUser,
    session: DbSession,
    site: str = Query("", max_length=64),
    kev: str = Query("", max_length=8),
    product: str = Query("", max_length=401),
) -> Response:
    if fmt not in ("csv", "xlsx"):
        raise HTTPException(404)
    site_id = _site_id(session, site.strip(), user)
    rows = vulns.device_products(
        session,
        scope=user.site_ids,
        site_id=site_id,
        kev=_kev(kev),
        product=product.strip() or None,
        limit=100_000,
    )
    doc = export_document(rows, request_language(request))
    if fmt == "csv":
        body, media = to_csv(doc), "text/csv; charset=utf-8"
    else:
        body, media = to_xlsx(doc), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    name = f"vulnerabilities-{datetime.now(UTC):%Y%m%d}.{fmt}"
    return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/admin/vulnerabilities/unmapped")
def unmapped_page(
    request: Request,
    user: AdminUser,
    session: DbSession,
    source: str = Query("", max_length=16),
    q: str = Query("", max_length=100),
) -> Response:
    rows = vulns.unmapped(session, scope=user.site_ids, source=source or None, search=q.strip() or None)
    products = sorted((r.id, r.label) for r in load_map().rules)
    context = {
        "rows": rows,
        "source": source,
        "q": q,
        "products": products,
        "status": vuln_data.data_status(session),
    }
    return render(request, "vulnerabilities_unmapped.html", context)


@router.post("/admin/vulnerabilities/unmapped")
def map_unmapped(
    request: Request,
    user: CityAdmin,  # the map is the same for every site: only an administrator of every site
    session: DbSession,
    name: str = Form("", max_length=300),
    source: str = Form("", max_length=16),
    product_id: str = Form("", max_length=64),
) -> Response:
    _ = translator_for(request)
    back = "/admin/vulnerabilities/unmapped"
    try:
        devices = vulns.map_name(
            session, source=source, name=name, product_id=product_id, actor=user.username
        )
    except ServiceError as exc:
        return flash(redirect(back), exc.text(request_language(request)), "error")
    vulns.evaluate_devices(session, due_days=request.app.state.settings.due_days, device_ids=devices)
    session.commit()
    return flash(redirect(back), _("Mapping saved; the devices were evaluated again."), "ok")


PLUGIN = PageSpec(
    router,
    nav=(Link(35, "Vulnerabilities", "/vulnerabilities"),),
    device_tabs=(Link(45, "Vulnerabilities", "/devices/{id}/vulnerabilities"),),
    overview_context=(_overview_context,),
)
