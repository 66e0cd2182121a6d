"""Published inspection reports: readable by anyone for public ones, by share link otherwise;
signed files, the public key, an index page and Atom/JSON feeds."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any
from xml.sax.saxutils import escape

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlmodel import Session

from collector.http.deps import DbSession, Principal, Public, allow, optional_principal
from collector.http.params import Id
from collector.http.responses import success
from collector.models.core import Role
from collector.models.inspections import Publication
from collector.plugins import Link, PageSpec
from collector.services import publishing
from collector.services.errors import NotFound, ServiceError
from collector.services.inspections import parse_evidence
from collector.signing import (
    WELL_KNOWN_KEYRING_PATH,
    WELL_KNOWN_PATH,
    encode_signature,
    keyring_pem,
    load_or_create,
)
from collector.web.i18n import format_number, translator
from collector.web.setup import render, request_language

router = APIRouter(tags=["published"])
Sharer = Annotated[Principal, Depends(allow(Role.ADMIN, Role.INSPECTOR))]


@dataclass(frozen=True)
class Rendering:
    """One of a publication's renderings: the full one, or the public redacted one."""

    pub: Publication
    body: bytes
    signature: bytes
    pdf: bytes
    pdf_signature: bytes


def full_rendering(pub: Publication) -> Rendering:
    return Rendering(pub, pub.body, pub.signature, pub.pdf, pub.pdf_signature)


def public_rendering(pub: Publication) -> Rendering | None:
    if not (pub.public and pub.public_body and pub.public_signature and pub.public_pdf):
        return None
    return Rendering(
        pub, pub.public_body, pub.public_signature, pub.public_pdf, pub.public_pdf_signature or b""
    )


def _readable(request: Request, session: Session, slug: str) -> Rendering:
    """The full report for a logged-in user whose scope covers its site; the public redacted rendering
    for anyone else when the report is public; 404 otherwise."""
    try:
        pub = publishing.get_publication(session, slug)
    except NotFound as exc:
        raise HTTPException(404, exc.text(request_language(request))) from None
    principal = optional_principal(request, session)
    if principal is not None and principal.can_see_site(pub.site_id):
        request.state.principal = principal
        return full_rendering(pub)
    rendering = public_rendering(pub)
    if rendering is None:
        raise HTTPException(404, f"no published report {slug!r}")
    return rendering


def _files(r: Rendering, fmt: str) -> Response:
    pub = r.pub
    if fmt == "json":
        return Response(
            r.body,
            media_type="application/json",
            headers={"Content-Disposition": f'inline; filename="{pub.slug}.json"'},
        )
    if fmt == "json.sig":
        return Response(
            encode_signature(r.signature, pub.key_id),
            media_type="text/plain",
            headers={"Content-Disposition": f'attachment; filename="{pub.slug}.json.sig"'},
        )
    if fmt == "pdf":
        return Response(
            r.pdf,
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="{pub.slug}.pdf"'},
        )
    if fmt == "pdf.sig":
        return Response(
            encode_signature(r.pdf_signature, pub.key_id),
            media_type="text/plain",
            headers={"Content-Disposition": f'attachment; filename="{pub.slug}.pdf.sig"'},
        )
    raise HTTPException(404, f"no such format {fmt!r}")


def _page(request: Request, r: Rendering, base: str) -> HTMLResponse:
    pub = r.pub
    doc = json.loads(r.body)
    from checks.catalog import load_catalog

    titles = {cid: check.title for cid, check in load_catalog().items()}
    return render(
        request,
        "published_report.html",
        {
            "doc": doc,
            "pub": pub,
            "base": base,
            "when": datetime.fromisoformat,
            "day": date.fromisoformat,
            "evidence": parse_evidence,
            "check_titles": titles,
        },
    )


@router.get(
    WELL_KNOWN_PATH,
    dependencies=[Public],
    response_class=Response,
    responses=success("application/x-pem-file"),
)
def public_key(request: Request) -> Response:
    key = load_or_create(request.app.state.settings.data_dir)
    return Response(key.public_pem(), media_type="application/x-pem-file")


@router.get(
    WELL_KNOWN_KEYRING_PATH,
    dependencies=[Public],
    response_class=Response,
    responses=success("application/x-pem-file"),
)
def public_keys(request: Request) -> Response:
    """Every publishing key the collector ever used (current and retired): old reports verify forever."""
    return Response(keyring_pem(request.app.state.settings.data_dir), media_type="application/x-pem-file")


@router.get("/published", dependencies=[Public], response_class=HTMLResponse)
def index(request: Request, session: DbSession) -> HTMLResponse:
    principal = optional_principal(request, session)
    if principal is not None:
        request.state.principal = principal
    pubs = publishing.list_publications(
        session, scope=principal.site_ids if principal else None, public_only=principal is None
    )
    return render(request, "published_index.html", {"pubs": pubs})


def _entries(session: Session) -> list[Publication]:
    return publishing.list_publications(session, scope=None, public_only=True, limit=50)


@router.get(
    "/published/feed.json",
    dependencies=[Public],
    response_class=Response,
    responses=success("application/feed+json"),
)
def feed_json(request: Request, session: DbSession) -> JSONResponse:
    base = str(request.base_url).rstrip("/")
    lang = request_language(request)
    items = [
        {
            "id": f"{base}/published/{p.slug}",
            "url": f"{base}/published/{p.slug}",
            "title": p.title,
            "date_published": p.published_at.isoformat(),
            "summary": _score_line(p.score, lang),
            "attachments": [
                {"url": f"{base}/published/{p.slug}.json", "mime_type": "application/json"},
                {"url": f"{base}/published/{p.slug}.pdf", "mime_type": "application/pdf"},
            ],
        }
        for p in _entries(session)
    ]
    return JSONResponse(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": translator(lang)("wardwatch — published inspection findings"),
            "home_page_url": f"{base}/published",
            "feed_url": f"{base}/published/feed.json",
            "items": items,
        },
        media_type="application/feed+json",
    )


def _score_line(score: float | None, lang: str) -> str:
    if score is None:
        return ""
    return translator(lang)("score %(score)s / 100", score=format_number(score, lang))


@router.get(
    "/published/feed.atom",
    dependencies=[Public],
    response_class=Response,
    responses=success("application/atom+xml"),
)
def feed_atom(request: Request, session: DbSession) -> Response:
    base = str(request.base_url).rstrip("/")
    lang = request_language(request)
    title = escape(translator(lang)("wardwatch — published inspection findings"))
    pubs = _entries(session)
    updated = pubs[0].published_at.isoformat() if pubs else "1970-01-01T00:00:00+00:00"
    entries = "".join(
        f"<entry><id>{escape(base)}/published/{p.slug}</id><title>{escape(p.title)}</title>"
        f"<updated>{p.published_at.isoformat()}</updated>"
        f'<link rel="alternate" href="{escape(base)}/published/{p.slug}"/>'
        f'<link rel="enclosure" type="application/pdf" href="{escape(base)}/published/{p.slug}.pdf"/>'
        f"<summary>{escape(_score_line(p.score, lang))}</summary></entry>"
        for p in pubs
    )
    xml = (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<id>{escape(base)}/published</id><title>{title}</title>"
        f'<updated>{updated}</updated><link rel="self" href="{escape(base)}/published/feed.atom"/>'
        f"{entries}</feed>"
    )
    return Response(xml, media_type="application/atom+xml")


# The page, or one of its files (SLUG.json, .json.sig, .pdf, .pdf.sig).
FILES = success("text/html", "application/json", "application/pdf", "text/plain")


@router.get("/published/{name}", dependencies=[Public], response_class=Response, responses=FILES)
def published(name: str, request: Request, session: DbSession) -> Response:
    """``/published/SLUG`` is the page; ``SLUG.json``, ``.json.sig``, ``.pdf``, ``.pdf.sig`` the files."""
    slug, _, fmt = name.partition(".")
    rendering = _readable(request, session, slug)
    if fmt:
        return _files(rendering, fmt)
    if getattr(request.state, "principal", None) is None:
        # A public page read by someone logged in still shows their navigation.
        request.state.principal = optional_principal(request, session)
    return _page(request, rendering, f"/published/{slug}")


@router.get("/s/{name}", dependencies=[Public], response_class=Response, responses=FILES)
def shared(name: str, request: Request, session: DbSession) -> Response:
    token, _, fmt = name.partition(".")
    try:
        pub = publishing.publication_by_share_token(session, token)
    except NotFound as exc:
        raise HTTPException(404, exc.text(request_language(request))) from None
    # A share link is the report's owner sharing it on purpose: the full rendering.
    rendering = full_rendering(pub)
    return _files(rendering, fmt) if fmt else _page(request, rendering, f"/s/{token}")


@router.post("/api/v1/published/{slug}/share-links", status_code=201)
def share(slug: str, request: Request, user: Sharer, session: DbSession) -> dict[str, Any]:
    try:
        pub = publishing.get_publication(session, slug)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    if not user.can_see_site(pub.site_id):
        raise HTTPException(404, f"no published report {slug!r}")
    token = publishing.create_share_link(session, pub, actor=user.username)
    session.commit()
    link = publishing.share_links(session, pub)[0]
    return {"id": link.id, "url": f"/s/{token}", "token": token}


@router.delete("/api/v1/share-links/{link_id}", status_code=204)
def unshare(link_id: Id, user: Sharer, session: DbSession) -> Response:
    from collector.models.inspections import ShareLink

    link = session.get(ShareLink, link_id)
    pub = session.get(Publication, link.publication_id) if link else None
    if link is None or pub is None or not user.can_see_site(pub.site_id):
        raise HTTPException(404, f"no share link {link_id}")
    try:
        publishing.revoke_share_link(session, link_id, actor=user.username)
    except ServiceError as exc:
        raise HTTPException(exc.status_code, str(exc)) from None
    session.commit()
    return Response(status_code=204)


@router.get("/api/v1/published", dependencies=[Public])
def published_list(request: Request, session: DbSession) -> list[dict[str, Any]]:
    principal = optional_principal(request, session)
    pubs = publishing.list_publications(
        session, scope=principal.site_ids if principal else None, public_only=principal is None
    )
    return [
        {
            "slug": p.slug,
            "title": p.title,
            "published_at": p.published_at.isoformat(),
            "score": p.score,
            "passed": p.passed,
            "public": p.public,
            "json": f"/published/{p.slug}.json",
            "signature": f"/published/{p.slug}.json.sig",
            "pdf": f"/published/{p.slug}.pdf",
        }
        for p in pubs
    ]


PLUGIN = PageSpec(
    router,
    nav=(Link(60, "Published reports", "/published"),),
)
