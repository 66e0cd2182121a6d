"""Known vulnerabilities on devices: evaluate a device against the imported data (findings per
device and product), re-evaluate after an import, and read the results for the views.

``evaluate_device`` / ``evaluate_devices`` are keyword-only services: the ingest hook, the import
command and a background job call them alike. A device is evaluated again only when what it reads
changed (its software, OS or device section, or the data generation).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy import case, delete, func, update
from sqlmodel import Session, col, select

from collector.models.core import Device, DeviceSection, Site
from collector.models.types import utcnow
from collector.models.vulns import (
    Cve,
    KevEntry,
    VulnDeviceState,
    VulnHit,
    VulnLocalMapping,
    VulnUnmapped,
)
from collector.services import vuln_data
from collector.services.errors import NotFound, ServiceError
from collector.services.findings import apply_results
from collector.vulns.mapping import (
    Installed,
    SoftwareMap,
    device_installed,
    installed_software,
    load_map,
    os_installed,
    with_local,
)
from collector.vulns.matcher import Hit, Index
from collector.vulns.versions import compare
from inventory.report import CheckResult, CheckStatus

Scope = Collection[int] | None
SECTIONS = ("software", "os", "device")
SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
MODULE = "vuln"
KEV_CHECK = "vuln.kev"
CVE_CHECK = "vuln.cve"
MAX_LISTED_CVES = 40
NVD_DETAIL = "https://nvd.nist.gov/vuln/detail/"


# ---- the map, with an administrator's local additions ------------------------------------------------

_MAPS: dict[str, tuple[int, SoftwareMap]] = {}


def software_map(session: Session) -> SoftwareMap:
    gen = vuln_data.generation(session)
    key = str(session.get_bind().engine.url)
    cached = _MAPS.get(key)
    if cached is not None and cached[0] == gen:
        return cached[1]
    local = {(m.source, m.name): m.product_id for m in session.exec(select(VulnLocalMapping)).all()}
    built = with_local(load_map(), local) if local else load_map()
    _MAPS[key] = (gen, built)
    return built


# ---- evaluation -------------------------------------------------------------------------------------


@dataclass
class ProductFinding:
    """What one program of one device is exposed to (becomes vuln.kev and/or vuln.cve)."""

    key: str
    label: str
    installed_version: str | None
    kev_cves: list[str] = field(default_factory=list)
    other_cves: list[str] = field(default_factory=list)
    fixed_version: str | None = None
    severity: str | None = None  # of the non-KEV CVEs, from CVSS
    kev_due: datetime | None = None
    references: list[str] = field(default_factory=list)


def summarise(
    hits: Iterable[Hit], *, cves: dict[str, Any], kev: dict[str, KevEntry]
) -> dict[str, ProductFinding]:
    """Group matches per program: KEV CVEs, the others, the highest severity, the first version that
    fixes them all (when NVD gives one) and the earliest KEV due date."""
    out: dict[str, ProductFinding] = {}
    for h in hits:
        inst = h.installed
        pf = out.get(inst.key)
        if pf is None:
            pf = out[inst.key] = ProductFinding(inst.key, inst.label, inst.version or inst.raw_version)
        target = pf.kev_cves if h.cve in kev else pf.other_cves
        if h.cve not in target:
            target.append(h.cve)
        fixed = h.row.end_excl
        if fixed and (pf.fixed_version is None or compare(fixed, pf.fixed_version) > 0):
            pf.fixed_version = fixed
    for pf in out.values():
        pf.kev_cves.sort()
        pf.other_cves.sort()
        sevs = [cves[c].severity for c in pf.other_cves if c in cves and cves[c].severity]
        pf.severity = min(sevs, key=lambda s: SEVERITY_RANK.get(s or "", 9)) if sevs else None
        dues = [kev[c].due_date for c in pf.kev_cves if kev[c].due_date]
        if dues:
            pf.kev_due = datetime.combine(min(d for d in dues if d), time(0, 0), tzinfo=UTC)
        refs: list[str] = []
        for c in pf.kev_cves + pf.other_cves:
            refs.append(NVD_DETAIL + c)
            refs.extend((cves[c].references or [])[:2] if c in cves else [])
        pf.references = list(dict.fromkeys(refs))[:20]
    return out


def _cve_text(ids: list[str]) -> str:
    listed = ", ".join(ids[:MAX_LISTED_CVES])
    return listed + (f" (+{len(ids) - MAX_LISTED_CVES})" if len(ids) > MAX_LISTED_CVES else "")


def results_for(findings: dict[str, ProductFinding]) -> list[CheckResult]:
    """The findings service's input: one failing result per program and kind (KEV / other CVEs)."""
    out: list[CheckResult] = []
    for pf in findings.values():
        fixed = f"; fixed in {pf.fixed_version}" if pf.fixed_version else ""
        base = {
            "product": pf.key,
            "label": pf.label,
            "installed_version": pf.installed_version,
            "fixed_version": pf.fixed_version,
            "references": pf.references,
        }
        if pf.kev_cves:
            observed = {**base, "cves": pf.kev_cves, "severity": "critical"}
            if pf.kev_due is not None:
                observed["due_before"] = pf.kev_due.isoformat()
            out.append(
                CheckResult(
                    check_id=KEV_CHECK,
                    status=CheckStatus.FAIL,
                    target=pf.key,
                    evidence=f"{pf.label} {pf.installed_version or ''}: known exploited "
                    f"{_cve_text(pf.kev_cves)}{fixed}"[:4000],
                    observed=observed,
                )
            )
        if pf.other_cves:
            observed = {**base, "cves": pf.other_cves}
            if pf.severity:
                observed["severity"] = "medium" if pf.severity == "info" else pf.severity
            out.append(
                CheckResult(
                    check_id=CVE_CHECK,
                    status=CheckStatus.FAIL,
                    target=pf.key,
                    evidence=f"{pf.label} {pf.installed_version or ''}: {_cve_text(pf.other_cves)}{fixed}"[
                        :4000
                    ],
                    observed=observed,
                )
            )
    return out


@dataclass
class CveFacts:
    severity: str | None
    references: list[str] | None = None


def _cve_facts(session: Session, cve_ids: list[str]) -> dict[str, Any]:
    """Severity of every CVE, references of the first few only (a finding lists 20 at most)."""
    out: dict[str, Any] = {}
    for i in range(0, len(cve_ids), 2000):
        q = select(Cve.id, Cve.severity).where(col(Cve.id).in_(cve_ids[i : i + 2000]))
        out.update((c, CveFacts(sev)) for c, sev in session.exec(q).all())
    if cve_ids:
        for c, refs in session.exec(
            select(Cve.id, Cve.references).where(col(Cve.id).in_(cve_ids[:20]))
        ).all():
            out[c].references = refs
    return out


def _sections(session: Session, device_id: int) -> dict[str, DeviceSection]:
    q = select(DeviceSection).where(
        DeviceSection.device_id == device_id, col(DeviceSection.section).in_(SECTIONS)
    )
    return {s.section: s for s in session.exec(q).all()}


@dataclass
class Evaluation:
    device_id: int
    evaluated: bool  # False: nothing it reads had changed
    products: int = 0  # programs with at least one CVE
    kev_products: int = 0
    mapped: int = 0
    unmapped: int = 0


def installed_on(
    session: Session, sections: dict[str, Any], smap: SoftwareMap
) -> tuple[list[Installed], list[Any]]:
    software = sections.get("software") or []
    installed, unmapped = installed_software(smap, software if isinstance(software, list) else [])
    installed += os_installed(sections.get("os") if isinstance(sections.get("os"), dict) else None)
    installed += device_installed(
        smap, sections.get("device") if isinstance(sections.get("device"), dict) else None
    )
    return installed, unmapped


def evaluate_device(
    session: Session,
    *,
    device: Device,
    due_days: dict[str, int],
    index: Index | None = None,
    force: bool = False,
    report_id: str | None = None,
    now: datetime | None = None,
) -> Evaluation:
    """Match one device's programs and OS against the data; open, update or resolve its findings."""
    now = now or utcnow()
    device_id = device.id or 0
    stored = _sections(session, device_id)
    gen = vuln_data.generation(session)
    digest = hashlib.sha256(
        "|".join(f"{n}:{stored[n].hash if n in stored else '-'}" for n in SECTIONS).encode()
    ).hexdigest()
    state = session.get(VulnDeviceState, device_id)
    if not force and state is not None and state.inputs_hash == digest and state.generation == gen:
        return Evaluation(device_id, False, mapped=state.mapped, unmapped=state.unmapped)
    smap = software_map(session)
    installed, unmapped = installed_on(session, {n: s.data for n, s in stored.items()}, smap)
    if index is None:
        # A report never waits for the whole index to be built: without a ready one, read only the
        # rows of the programs this device has (exact: other rows could not match anyway).
        index = vuln_data.cached_index(session) or vuln_data.index_for(
            session,
            keys={i.key for i in installed},
            platforms={i.key for i in installed if i.cpe.part == "o"},
        )
    hits = index.match(installed)
    cve_ids = sorted({h.cve for h in hits})
    cves = _cve_facts(session, cve_ids)
    kev = (
        {k.cve_id: k for k in session.exec(select(KevEntry).where(col(KevEntry.cve_id).in_(cve_ids))).all()}
        if cve_ids
        else {}
    )
    products = summarise(hits, cves=cves, kev=kev)
    _store_hits(session, device, products, cves, kev)
    snapshot = state.unmapped_list if state is not None else None
    current = unmapped_snapshot(device, unmapped)
    if current != snapshot:
        _store_unmapped(session, device, current, snapshot)
    apply_results(
        session,
        device=device,
        results=results_for(products),
        due_days=due_days,
        report_id=report_id,
        now=now,
        covered_modules={MODULE},
    )
    state = state or VulnDeviceState(device_id=device_id, inputs_hash=digest)
    state.inputs_hash, state.generation, state.evaluated_at = digest, gen, now
    state.unmapped_list = current
    state.mapped = sum(1 for i in installed if i.cpe.part == "a")
    state.unmapped = len(unmapped)
    session.add(state)
    return Evaluation(
        device_id,
        True,
        products=len(products),
        kev_products=sum(1 for p in products.values() if p.kev_cves),
        mapped=state.mapped,
        unmapped=state.unmapped,
    )


def _store_hits(
    session: Session,
    device: Device,
    products: dict[str, ProductFinding],
    cves: dict[str, Any],
    kev: dict[str, KevEntry],
) -> None:
    """Bring the device's hit rows in line with ``products``, touching only what changed (a report
    that updates one program rewrites that program's rows, not the device's hundreds)."""
    wanted = {
        (c, pf.key[:401]): {
            "label": pf.label[:200],
            "installed_version": (pf.installed_version or None) and pf.installed_version[:200],
            "fixed_version": (pf.fixed_version or None) and pf.fixed_version[:100],
            "kev": c in kev,
            "severity": cves[c].severity if c in cves else None,
        }
        for pf in products.values()
        for c in pf.kev_cves + pf.other_cves
    }
    fields = ("label", "installed_version", "fixed_version", "kev", "severity")
    # Plain rows, not ORM objects: a device may have hundreds of hits, and this runs on every report.
    q = select(
        VulnHit.id, VulnHit.cve_id, VulnHit.product, VulnHit.site_id, *(getattr(VulnHit, f) for f in fields)
    ).where(VulnHit.device_id == device.id)
    stale: list[int] = []
    for hit_id, cve_id, product, site_id, *current in session.exec(q).all():
        values = wanted.pop((cve_id, product), None)
        if values is None or site_id != device.site_id:
            stale.append(hit_id)
            if values is not None:
                wanted[(cve_id, product)] = values
        elif list(current) != [values[f] for f in fields]:
            session.exec(update(VulnHit).where(col(VulnHit.id) == hit_id).values(**values))
    if stale:
        session.exec(delete(VulnHit).where(col(VulnHit.id).in_(stale)))
    if wanted:
        device_id, site_id = device.id, device.site_id
        rows = [
            {"device_id": device_id, "site_id": site_id, "cve_id": c, "product": p, **v}
            for (c, p), v in wanted.items()
        ]
        session.execute(VulnHit.__table__.insert(), rows)  # type: ignore[attr-defined]


def unmapped_snapshot(device: Device, unmapped: list[Any]) -> dict[str, Any]:
    """What a device's unmapped rows hold, as one JSON value kept with its evaluation state."""
    items = {
        (u.source[:16], u.name[:300]): [
            u.source[:16],
            u.name[:300],
            (u.vendor or None) and str(u.vendor)[:300],
            (u.version or None) and str(u.version)[:200],
        ]
        for u in unmapped
    }
    return {"site": device.site_id, "items": sorted(items.values(), key=lambda i: (i[0], i[1]))}


def _store_unmapped(
    session: Session, device: Device, current: dict[str, Any], previous: dict[str, Any] | None
) -> None:
    """Bring the device's unmapped rows from ``previous`` to ``current`` (snapshots): only the names
    that came or went are written, and nothing is read back row by row."""
    wanted = {(s, n): (v, ver) for s, n, v, ver in current["items"]}
    before: dict[tuple[str, str], tuple[Any, Any]] = {}
    if previous and previous.get("site") == device.site_id:
        before = {(s, n): (v, ver) for s, n, v, ver in previous.get("items", [])}
    else:
        session.exec(delete(VulnUnmapped).where(VulnUnmapped.device_id == device.id))
    gone: dict[str, list[str]] = {}
    for key in before.keys() - wanted.keys():
        gone.setdefault(key[0], []).append(key[1])
    for source, names in gone.items():
        for i in range(0, len(names), 500):
            session.exec(
                delete(VulnUnmapped).where(
                    VulnUnmapped.device_id == device.id,
                    VulnUnmapped.source == source,
                    col(VulnUnmapped.name).in_(names[i : i + 500]),
                )
            )
    for (source, name), (vendor, version) in wanted.items():
        if (source, name) in before and before[(source, name)] != (vendor, version):
            session.exec(
                update(VulnUnmapped)
                .where(
                    VulnUnmapped.device_id == device.id,
                    VulnUnmapped.source == source,
                    VulnUnmapped.name == name,
                )
                .values(vendor=vendor, version=version)
            )
    added = [k for k in wanted if k not in before]
    if added:
        # Core on the table, the device's ids read once: a new PC brings ~1,500 unmapped programs,
        # and the ORM's bulk insert with two attribute reads per row cost more than the rows.
        device_id, site_id = device.id, device.site_id
        session.execute(
            VulnUnmapped.__table__.insert(),  # type: ignore[attr-defined]  # SQLModel declares no __table__
            [
                {
                    "device_id": device_id,
                    "site_id": site_id,
                    "source": s,
                    "name": n,
                    "vendor": wanted[(s, n)][0],
                    "version": wanted[(s, n)][1],
                }
                for s, n in added
            ],
        )


def evaluate_devices(
    session: Session,
    *,
    due_days: dict[str, int],
    device_ids: Collection[int] | None = None,
    now: datetime | None = None,
) -> list[Evaluation]:
    """Evaluate every device (or the given ones) whose inputs or data changed: after an import, the
    findings follow the new data without waiting for the next report."""
    index = vuln_data.load_index(session)
    q = select(Device)
    if device_ids is not None:
        q = q.where(col(Device.id).in_(list(device_ids)))
    return [
        evaluate_device(session, device=d, due_days=due_days, index=index, now=now)
        for d in session.exec(q.order_by(col(Device.id))).all()
    ]


# ---- local mappings -----------------------------------------------------------------------------------


def map_name(session: Session, *, source: str, name: str, product_id: str, actor: str) -> list[int]:
    """Map one exact program name to a product of the shipped map (or ``ignore`` it); returns the
    devices that report that name (the ones to evaluate again)."""
    name = name.strip()
    if not name or len(name) > 300:
        raise ServiceError("give the program name exactly as reported (1 to 300 characters)")
    if source not in ("registry", "dpkg", "rpm"):
        raise ServiceError("source must be registry, dpkg or rpm")
    known = {r.id for r in load_map().rules}
    if product_id != "ignore" and product_id not in known:
        raise ServiceError(
            "unknown product %(product_id)s; one of the map's product ids or 'ignore'",
            product_id=repr(product_id[:64]),
        )
    row = session.get(VulnLocalMapping, (source, name.lower())) or VulnLocalMapping(
        source=source, name=name.lower(), product_id=product_id, created_by=actor
    )
    row.product_id, row.created_by, row.created_at = product_id, actor, utcnow()
    session.add(row)
    # The map changed: every device is due for another evaluation.
    vuln_data.bump_generation(session)
    q = select(VulnUnmapped.device_id).where(
        VulnUnmapped.source == source, func.lower(VulnUnmapped.name) == name.lower()
    )
    return sorted(set(session.exec(q).all()))


# ---- reading ------------------------------------------------------------------------------------------


def _scoped(q: Any, scope: Scope, site_id: int | None, model: Any = VulnHit) -> Any:
    if scope is not None:
        q = q.where(col(model.site_id).in_(list(scope)))
    if site_id is not None:
        q = q.where(model.site_id == site_id)
    return q


@dataclass
class CveRow:
    cve_id: str
    kev: bool
    severity: str | None
    score: float | None
    devices: int
    products: list[str]
    description: str
    kev_due: Any = None
    kev_name: str | None = None


def by_cve(
    session: Session,
    *,
    scope: Scope,
    site_id: int | None = None,
    kev: bool | None = None,
    product: str | None = None,
) -> list[CveRow]:
    q = select(VulnHit.cve_id, VulnHit.label, func.count(func.distinct(VulnHit.device_id))).group_by(
        col(VulnHit.cve_id), col(VulnHit.label)
    )
    q = _filters(_scoped(q, scope, site_id), kev, product)
    agg: dict[str, tuple[int, list[str]]] = {}
    for cve_id, label, n in session.exec(q).all():
        devices, labels = agg.get(cve_id, (0, []))
        agg[cve_id] = (max(devices, n), [*labels, label])
    if not agg:
        return []
    cves = {c.id: c for c in session.exec(select(Cve).where(col(Cve.id).in_(list(agg)))).all()}
    kevs = {
        k.cve_id: k for k in session.exec(select(KevEntry).where(col(KevEntry.cve_id).in_(list(agg)))).all()
    }
    rows = [
        CveRow(
            cve_id=cid,
            kev=cid in kevs,
            severity=cves[cid].severity if cid in cves else None,
            score=cves[cid].cvss_score if cid in cves else None,
            devices=n,
            products=sorted(set(labels)),
            description=cves[cid].description if cid in cves else "",
            kev_due=kevs[cid].due_date if cid in kevs else None,
            kev_name=kevs[cid].name if cid in kevs else None,
        )
        for cid, (n, labels) in agg.items()
    ]
    rows.sort(key=lambda r: (not r.kev, SEVERITY_RANK.get(r.severity or "", 9), -r.devices, r.cve_id))
    return rows


def _filters(q: Any, kev: bool | None, product: str | None) -> Any:
    if kev is not None:
        q = q.where(VulnHit.kev == kev)
    if product:
        q = q.where(VulnHit.product == product)
    return q


@dataclass
class ProductRow:
    product: str
    label: str
    devices: int
    kev_devices: int
    cves: int
    kev_cves: int


def by_product(
    session: Session,
    *,
    scope: Scope,
    site_id: int | None = None,
    kev: bool | None = None,
    product: str | None = None,
) -> list[ProductRow]:
    q = select(VulnHit.product, VulnHit.label, VulnHit.device_id, VulnHit.cve_id, VulnHit.kev)
    q = _filters(_scoped(q, scope, site_id), kev, product)
    acc: dict[str, dict[str, Any]] = {}
    for prod, label, device_id, cve_id, is_kev in session.exec(q).all():
        a = acc.setdefault(
            prod, {"label": label, "devices": set(), "kev_devices": set(), "cves": set(), "kev": set()}
        )
        a["devices"].add(device_id)
        a["cves"].add(cve_id)
        if is_kev:
            a["kev_devices"].add(device_id)
            a["kev"].add(cve_id)
    rows = [
        ProductRow(p, a["label"], len(a["devices"]), len(a["kev_devices"]), len(a["cves"]), len(a["kev"]))
        for p, a in acc.items()
    ]
    rows.sort(key=lambda r: (-r.kev_devices, -r.devices, r.label.lower()))
    return rows


@dataclass
class SiteRow:
    site: Site
    devices: int
    kev_devices: int
    cves: int
    kev_cves: int


def by_site(
    session: Session, *, scope: Scope, kev: bool | None = None, product: str | None = None
) -> list[SiteRow]:
    q = select(VulnHit.site_id, VulnHit.device_id, VulnHit.cve_id, VulnHit.kev)
    q = _filters(_scoped(q, scope, None), kev, product)
    acc: dict[int, dict[str, set[Any]]] = {}
    for site_id, device_id, cve_id, is_kev in session.exec(q).all():
        a = acc.setdefault(site_id, {"d": set(), "kd": set(), "c": set(), "kc": set()})
        a["d"].add(device_id)
        a["c"].add(cve_id)
        if is_kev:
            a["kd"].add(device_id)
            a["kc"].add(cve_id)
    sites = (
        {s.id: s for s in session.exec(select(Site).where(col(Site.id).in_(list(acc)))).all()} if acc else {}
    )
    rows = [
        SiteRow(sites[sid], len(a["d"]), len(a["kd"]), len(a["c"]), len(a["kc"]))
        for sid, a in acc.items()
        if sid in sites
    ]
    rows.sort(key=lambda r: (-r.kev_devices, -r.devices, r.site.code))
    return rows


@dataclass
class DeviceProductRow:
    site_code: str
    device_id: int
    hostname: str
    product: str
    label: str
    installed_version: str | None
    fixed_version: str | None
    kev: bool
    severity: str | None
    cves: list[str]
    kev_cves: list[str]


def device_products(
    session: Session,
    *,
    scope: Scope,
    site_id: int | None = None,
    device_id: int | None = None,
    kev: bool | None = None,
    product: str | None = None,
    cve: str | None = None,
    limit: int = 5000,
) -> list[DeviceProductRow]:
    """One row per device and program (what the findings are about), KEV first."""
    q = (
        select(VulnHit, Device.hostname, Site.code)
        .join(Device, col(Device.id) == col(VulnHit.device_id))
        .join(Site, col(Site.id) == col(VulnHit.site_id))
    )
    q = _scoped(q, scope, site_id)
    if device_id is not None:
        q = q.where(VulnHit.device_id == device_id)
    if product:
        q = q.where(VulnHit.product == product)
    if cve:
        pairs = select(VulnHit.device_id, VulnHit.product).where(VulnHit.cve_id == cve)
        wanted = set(session.exec(_scoped(pairs, scope, site_id)).all())
        q = q.where(col(VulnHit.device_id).in_({d for d, _p in wanted}))
    acc: dict[tuple[int, str], DeviceProductRow] = {}
    for hit, hostname, code in session.exec(q.order_by(col(VulnHit.device_id), col(VulnHit.cve_id))).all():
        row = acc.get((hit.device_id, hit.product))
        if row is None:
            row = acc[(hit.device_id, hit.product)] = DeviceProductRow(
                code,
                hit.device_id,
                hostname,
                hit.product,
                hit.label,
                hit.installed_version,
                hit.fixed_version,
                False,
                None,
                [],
                [],
            )
        row.cves.append(hit.cve_id)
        if hit.kev:
            row.kev = True
            row.kev_cves.append(hit.cve_id)
        if hit.severity and SEVERITY_RANK.get(hit.severity, 9) < SEVERITY_RANK.get(row.severity or "", 9):
            row.severity = hit.severity
    rows = [r for r in acc.values() if (kev is None or r.kev == kev) and (not cve or cve in r.cves)]
    rows.sort(
        key=lambda r: (not r.kev, SEVERITY_RANK.get(r.severity or "", 9), r.site_code, r.hostname, r.label)
    )
    return rows[:limit]


@dataclass
class Counts:
    devices: int = 0
    kev_devices: int = 0
    cves: int = 0
    kev_cves: int = 0


def counts(
    session: Session, *, scope: Scope, site_id: int | None = None, device_id: int | None = None
) -> Counts:
    """Devices and CVEs with a hit, and those of them in KEV: counted by the database (the overview asks
    for the whole city's; reading every hit into Python sets grew with the fleet)."""
    kev = col(VulnHit.kev).is_(True)
    q = select(
        func.count(func.distinct(VulnHit.device_id)),
        func.count(func.distinct(case((kev, VulnHit.device_id)))),
        func.count(func.distinct(VulnHit.cve_id)),
        func.count(func.distinct(case((kev, VulnHit.cve_id)))),
    )
    q = _scoped(q, scope, site_id)
    if device_id is not None:
        q = q.where(VulnHit.device_id == device_id)
    devices, kev_devices, cves, kev_cves = session.exec(q).one()
    return Counts(int(devices), int(kev_devices), int(cves), int(kev_cves))


@dataclass
class UnmappedRow:
    source: str
    name: str
    devices: int
    vendor: str | None
    version: str | None


def unmapped(
    session: Session, *, scope: Scope, source: str | None = None, search: str | None = None, limit: int = 500
) -> list[UnmappedRow]:
    """Program names no rule maps, by how many devices report them (most first)."""
    q = select(
        VulnUnmapped.source,
        VulnUnmapped.name,
        func.count(func.distinct(VulnUnmapped.device_id)),
        func.max(VulnUnmapped.vendor),
        func.max(VulnUnmapped.version),
    ).group_by(col(VulnUnmapped.source), col(VulnUnmapped.name))
    q = _scoped(q, scope, None, VulnUnmapped)
    if source:
        q = q.where(VulnUnmapped.source == source)
    if search:
        q = q.where(func.lower(VulnUnmapped.name).contains(search.lower()[:100]))
    q = q.order_by(func.count(func.distinct(VulnUnmapped.device_id)).desc(), col(VulnUnmapped.name)).limit(
        limit
    )
    return [UnmappedRow(s, n, c, v, ver) for s, n, c, v, ver in session.exec(q).all()]


def cve_detail(session: Session, *, cve_id: str) -> tuple[Cve, KevEntry | None]:
    cve = session.get(Cve, cve_id)
    if cve is None:
        raise NotFound("no data for %(cve_id)s", cve_id=cve_id[:40])
    return cve, session.get(KevEntry, cve_id)
