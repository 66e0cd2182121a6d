"""The global search page (the box in the header): results grouped by kind, each linking on."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from collector.http.deps import AnyUser, DbSession
from collector.plugins import PageSpec
from collector.services import search as svc
from collector.services.errors import ServiceError
from collector.web.setup import render, request_language

router = APIRouter(include_in_schema=False)

PER_KIND = 25


@router.get("/search")
def search_page(request: Request, user: AnyUser, session: DbSession, q: str = "") -> Response:
    result, error = None, None
    text = q.strip()
    if text:
        try:
            result = svc.search(session, q=text[: svc.MAX_LENGTH], scope=user.site_ids, limit=PER_KIND)
        except ServiceError as exc:
            error = exc.text(request_language(request))
    # Where "more" leads: the table that lists every hit of that kind, filtered the same way.
    more = {
        "device": "/devices?" + urlencode({"q": text}),
        "network_device": "/devices?" + urlencode({"q": text, "kind": "network_device"}),
        "software": "/software?" + urlencode({"q": text}),
        "certificate": "/certificates/table?" + urlencode({"q": text}),
    }
    context = {
        "q": text,
        "result": result,
        "error": error,
        "kinds": svc.KINDS,
        "more_href": more,
        "devices_href": "/devices?" + urlencode({"software": text}),
    }
    return render(request, "search.html", context, status_code=400 if error else 200)


PLUGIN = PageSpec(router)
