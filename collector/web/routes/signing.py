"""The organisation's signing certificate and document issuer, shown to administrators.

Access: administrators without a site scope only (the certificate signs for the whole organisation;
a site-scoped administrator gets 404). Setting it is a command (``wardwatch signing-cert set``): the
private key never travels through a browser.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from collector.http.deps import AdminUser, DbSession, Settings
from collector.pdf.layout import Issuer
from collector.plugins import Link, PageSpec
from collector.services import signing_cert
from collector.web.setup import render

router = APIRouter(include_in_schema=False)


@router.get("/admin/signing-certificate")
def signing_certificate_page(
    request: Request, user: AdminUser, session: DbSession, settings: Settings
) -> Response:
    if user.site_ids is not None:
        raise HTTPException(404)
    row = signing_cert.current(session)
    return render(
        request,
        "admin/signing_certificate.html",
        {
            "cert": signing_cert.describe(row) if row else None,
            "validation": signing_cert.validate(row) if row else None,
            "refused": signing_cert.REFUSED,
            "issuer": Issuer.from_settings(settings),
        },
    )


PLUGIN = PageSpec(
    router,
    nav=(Link(93, "Signing certificate", "/admin/signing-certificate"),),
)
