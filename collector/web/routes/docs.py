"""API documentation served offline: Swagger UI at /docs, ReDoc at /redoc, the OpenAPI document.

The viewers' assets come from the installed ``fastapi-offline`` package (Swagger UI, Apache-2.0;
ReDoc, MIT), mounted under ``/static/apidocs``; the pages start them from ``/static/apidocs-init.js``,
so nothing leaves the collector and no inline script is needed. A login is required unless
``WARDWATCH_PUBLIC_API_DOCS`` is set.
"""

from __future__ import annotations

import secrets
from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse

from collector.http.access import ALL_ROLES, mark
from collector.http.deps import DbSession, Principal, allow
from collector.plugins import PageSpec
from collector.web.headers import CSP
from collector.web.setup import render

OPENAPI_PATH = "/api/v1/openapi.json"
ASSETS_URL = "/static/apidocs"

# ReDoc's bundle inserts two <style> elements as it loads (before Redoc.init can hand it the nonce):
# an empty one and its base CSS. They are allowed by their hashes; a ReDoc upgrade that changes them
# shows up as a CSP violation in tests/e2e/browser/test_csp_browser.py.
REDOC_STYLE_HASHES = (
    "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",
    "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='",
)

router = APIRouter(include_in_schema=False)
_logged_in = allow()


def assets_dir() -> str:
    return str(resources.files("fastapi_offline") / "static")


@mark("roles", ALL_ROLES)
async def docs_reader(request: Request, session: DbSession) -> Principal | None:
    """Any logged-in user; anyone when the collector is configured with public API docs."""
    if request.app.state.settings.public_api_docs:
        return None
    return await _logged_in(request, session)


Reader = Annotated[Principal | None, Depends(docs_reader)]


@router.get(OPENAPI_PATH)
def openapi(request: Request, _reader: Reader) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@router.get("/docs", response_class=HTMLResponse)
def swagger(request: Request, _reader: Reader) -> HTMLResponse:
    return render(request, "apidocs/swagger.html", {"openapi_url": OPENAPI_PATH, "assets": ASSETS_URL})


@router.get("/redoc", response_class=HTMLResponse)
def redoc(request: Request, _reader: Reader) -> HTMLResponse:
    # ReDoc writes its styles into <style> elements: allowed by a nonce made for this answer only.
    nonce = secrets.token_urlsafe(18)
    response = render(
        request, "apidocs/redoc.html", {"openapi_url": OPENAPI_PATH, "assets": ASSETS_URL, "nonce": nonce}
    )
    response.headers["content-security-policy"] = CSP.replace(
        "style-src 'self'", f"style-src 'self' 'nonce-{nonce}' {' '.join(REDOC_STYLE_HASHES)}"
    )
    return response


PLUGIN = PageSpec(router)
