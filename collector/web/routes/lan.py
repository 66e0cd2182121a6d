"""A site's LAN page: hosts with vendor, known/unknown, risky services, first and last seen, and
what changed since the previous scan."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from collector.http.deps import AnyUser, DbSession
from collector.plugins import Link, PageSpec
from collector.services.devices import site_in_scope
from collector.services.errors import NotFound
from collector.services.lan import site_lan
from collector.web.setup import render, site_tabs

router = APIRouter(include_in_schema=False)


# TCP ports whose being open is a finding of the LAN checks (checks/catalog/lan.yaml).
RISKY_PORTS = {
    21: "FTP",
    23: "Telnet",
    445: "SMB",
    3389: "RDP",
    5900: "VNC",
    8291: "Winbox",
    8728: "RouterOS API",
}


@router.get("/sites/{code}/lan")
def lan_page(request: Request, code: str, user: AnyUser, session: DbSession) -> Response:
    try:
        site = site_in_scope(session, code, scope=user.site_ids)
    except NotFound:
        raise HTTPException(404) from None  # missing and out of scope look the same
    data = site_lan(session, site)
    latest = data.latest
    problems = []
    if latest is not None:
        for d in latest.dhcp_servers:
            if d.get("allowed") is False or (d.get("allowed") is None and len(latest.dhcp_servers) > 1):
                problems.append(("dhcp", d))
        for c in latest.arp_conflicts:
            problems.append(("arp", c))
        if (
            latest.previous_gateway_mac
            and latest.gateway_mac
            and latest.previous_gateway_mac != latest.gateway_mac
        ):
            problems.append(
                (
                    "gateway",
                    {"ip": latest.gateway_ip, "old": latest.previous_gateway_mac, "new": latest.gateway_mac},
                )
            )
    context = {
        "site": site,
        "tabs": site_tabs(user, site.code),
        "lan": data,
        "latest": latest,
        "problems": problems,
        "risky": RISKY_PORTS,
        "scanner": data.scanners.get(latest.device_id) if latest and latest.device_id else None,
    }
    return render(request, "lan.html", context)


PLUGIN = PageSpec(
    router,
    site_tabs=(Link(40, "LAN", "/sites/{code}/lan"),),
)
