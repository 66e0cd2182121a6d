"""Switching the console language: remembered in a cookie, and on the user when logged in."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response

from collector.http.deps import CsrfFailed, DbSession, Public, load_principal
from collector.plugins import PageSpec
from collector.security import same
from collector.services.users import set_language
from collector.web.i18n import LANG_COOKIE, LANGUAGES, accepted_language
from collector.web.setup import pre_session_csrf_ok, redirect, safe_next, set_cookie

router = APIRouter(include_in_schema=False)


@router.post("/lang", dependencies=[Public])
def switch_language(
    request: Request,
    session: DbSession,
    lang: str = Form(...),
    csrf_token: str = Form(""),
    next: str = Form("/"),
) -> Response:
    if not accepted_language(lang):
        raise HTTPException(400, f"unknown language {lang!r}; choose one of {', '.join(LANGUAGES)}")
    principal = load_principal(request, session)
    if principal is not None:
        if not (csrf_token and principal.csrf_token and same(csrf_token, principal.csrf_token)):
            raise CsrfFailed()
        set_language(session, principal.user_id, lang)
        session.commit()
    elif not pre_session_csrf_ok(request, csrf_token):
        raise CsrfFailed()
    response = redirect(_without_lang(safe_next(next)))
    set_cookie(request, response, LANG_COOKIE, lang, max_age=365 * 86400)
    return response


def _without_lang(target: str) -> str:
    """The page to go back to, minus a ``?lang=`` that would override the choice just made."""
    parts = urlsplit(target)
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "lang"])
    return parts.path + (f"?{query}" if query else "")


PLUGIN = PageSpec(router)
