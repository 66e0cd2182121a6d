"""Where browsers report Content-Security-Policy violations (``report-uri`` in the policy)."""

from __future__ import annotations

import json
import logging

from fastapi import APIRouter, HTTPException, Request, Response

from collector.http.body import read_limited_body
from collector.http.deps import Public
from collector.plugins import PageSpec
from collector.web.headers import CSP_REPORT_PATH

log = logging.getLogger("collector.csp")
router = APIRouter(include_in_schema=False)
MAX_REPORT_BYTES = 16 * 1024


@router.post(CSP_REPORT_PATH, dependencies=[Public], status_code=204)
async def csp_report(request: Request) -> Response:
    """Open to anyone (a browser sends it without credentials); bounded, logged, never echoed back."""
    try:
        body = await read_limited_body(request, MAX_REPORT_BYTES)
        report = json.loads(body).get("csp-report", {})
    except (HTTPException, ValueError, AttributeError):
        return Response(status_code=204)
    if isinstance(report, dict):
        log.warning(
            "CSP violation on %s: %s blocked %s",
            str(report.get("document-uri", "?"))[:200],
            str(report.get("violated-directive", "?"))[:100],
            str(report.get("blocked-uri", "?"))[:200],
        )
        request.app.state.metrics.inc("csp", "violations")
    return Response(status_code=204)


PLUGIN = PageSpec(router)
