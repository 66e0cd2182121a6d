"""The planning API's former paths, kept for existing clients: a 308 to the same request's new path.

``/api/v1/replacement/...`` became ``/api/v1/planning/...`` and ``/api/v1/assets/...`` became
``/api/v1/planning/assets/...`` (one name per concept, issue 19). A 308 keeps the method and the body,
so a client that follows redirects (curl -L, httpx, requests) gets the same answer; the query string
goes along. The redirect says nothing about any object, so it is public: who may do what is decided by
the new path. These routes stay out of the OpenAPI document, which describes the new paths only.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from collector.http.deps import Public
from collector.plugins import RouterSpec

router = APIRouter(include_in_schema=False)

API = "/api/v1"
# Former prefix under /api/v1 -> its new prefix; the rest of the path is kept as it is.
MOVED: dict[str, str] = {"/replacement": "/planning", "/assets": "/planning/assets"}


def new_location(request: Request, old_prefix: str, rest: str) -> str:
    """The new path of a request to ``old_prefix + rest`` (relative, with its query string)."""
    root = request.scope.get("root_path", "")
    query = request.url.query
    return f"{root}{API}{MOVED[old_prefix]}{rest}" + (f"?{query}" if query else "")


def _moved(request: Request, old_prefix: str, rest: str) -> RedirectResponse:
    return RedirectResponse(new_location(request, old_prefix, rest), status_code=308)


# The methods each former prefix answered (replacement: plan, scores, unit costs; assets: the register).
@router.get("/replacement{rest:path}", dependencies=[Public])
@router.put("/replacement{rest:path}", dependencies=[Public])
def replacement_moved(request: Request, rest: str) -> RedirectResponse:
    return _moved(request, "/replacement", rest)


@router.get("/assets{rest:path}", dependencies=[Public])
@router.put("/assets{rest:path}", dependencies=[Public])
@router.post("/assets{rest:path}", dependencies=[Public])
def assets_moved(request: Request, rest: str) -> RedirectResponse:
    return _moved(request, "/assets", rest)


PLUGIN = RouterSpec(router)
