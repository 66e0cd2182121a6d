"""GET /api/v1/vulnerabilities: known vulnerabilities per device and program, KEV first, within the
user's sites; GET /api/v1/vulnerabilities/data: how old the NVD and KEV data are."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query

from collector.api.schemas.vulnerabilities import SourcePublic, VulnerabilityPublic
from collector.http.deps import AnyUser, DbSession
from collector.http.params import OptionalIdQuery
from collector.plugins import RouterSpec
from collector.services import vuln_data, vulns
from collector.services.devices import site_in_scope
from collector.services.errors import NotFound

router = APIRouter(tags=["vulnerabilities"])


@router.get("/vulnerabilities", response_model=list[VulnerabilityPublic])
def list_vulnerabilities(
    user: AnyUser,
    session: DbSession,
    site: str | None = Query(None, description="Site code; a site outside the user's scope answers 404."),
    kev: bool | None = Query(None, description="true: only known exploited; false: only the others."),
    product: str | None = Query(None, max_length=401, description="CPE vendor:product, e.g. rarlab:winrar."),
    device_id: OptionalIdQuery = None,
    limit: int = Query(1000, ge=1, le=5000),
) -> list[VulnerabilityPublic]:
    site_id = None
    if site:
        try:
            site_id = site_in_scope(session, site, scope=user.site_ids).id
        except NotFound:
            raise HTTPException(404, f"no site {site!r}") from None
    rows = vulns.device_products(
        session,
        scope=user.site_ids,
        site_id=site_id,
        device_id=device_id,
        kev=kev,
        product=product,
        limit=limit,
    )
    return [
        VulnerabilityPublic(
            site=r.site_code,
            device_id=r.device_id,
            hostname=r.hostname,
            product=r.product,
            label=r.label,
            installed_version=r.installed_version,
            fixed_version=r.fixed_version,
            kev=r.kev,
            severity=r.severity,
            cves=r.cves,
            kev_cves=r.kev_cves,
        )
        for r in rows
    ]


@router.get("/vulnerabilities/data", response_model=list[SourcePublic])
def data_sources(user: AnyUser, session: DbSession) -> list[SourcePublic]:
    return [SourcePublic(**s.__dict__) for s in vuln_data.data_status(session)]


PLUGIN = RouterSpec(router)
