"""Dependencies shared by API routes and web pages, as ``Annotated`` aliases."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool

from collector.http.access import ALL_ROLES, mark
from collector.models.core import Agent, AuthSession, Role, User, UserSite
from collector.models.types import utcnow
from collector.security import same, token_hash
from collector.settings import CollectorSettings

SESSION_COOKIE = "ww_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_settings(request: Request) -> CollectorSettings:
    return request.app.state.settings


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def get_session(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine) as session:
        yield session


Settings = Annotated[CollectorSettings, Depends(get_settings)]
DbSession = Annotated[Session, Depends(get_session)]


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    role: Role
    site_ids: frozenset[int] | None  # None: every site
    via: str  # "api" or "web"
    csrf_token: str | None = None
    session_id: int | None = None
    language: str | None = None  # the user's stored console language
    must_change_password: bool = False  # logged in with a one-time password

    @property
    def city_wide(self) -> bool:
        """Not limited to sites: may change city-wide settings (within its role)."""
        return self.site_ids is None

    def can_see_site(self, site_id: int | None) -> bool:
        return self.site_ids is None or (site_id is not None and site_id in self.site_ids)

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles


class LoginRequired(Exception):
    """A web page was asked for without a valid session: the handler redirects to the login page."""


class Forbidden(Exception):
    """A web page the user's role may not see: the handler renders the 403 page."""


class PasswordChangeRequired(Exception):
    """The user logged in with a one-time password: the web redirects to the change-password page,
    the API answers 403 saying so, until the password is changed."""


PASSWORD_CHANGE_PAGE = "/account/password"
PASSWORD_CHANGE_DETAIL = (
    "password change required: you logged in with a one-time password; set your own with "
    "POST /api/v1/me/password (or on the web page /account/password) before anything else"
)


class CsrfFailed(HTTPException):
    """A state-changing request without the right CSRF token (403; the web shows "reload the form")."""

    def __init__(self) -> None:
        super().__init__(status.HTTP_403_FORBIDDEN, "CSRF token missing or wrong; reload the page")


def is_api(request: Request) -> bool:
    # Machine endpoints answer 401/403 like the API rather than redirecting to the login page.
    return request.url.path.startswith("/api/") or request.url.path == "/metrics"


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def load_principal(request: Request, session: Session) -> Principal | None:
    token = _bearer(request)
    kind = "api"
    if token is None:
        token = request.cookies.get(SESSION_COOKIE)
        kind = "web"
    if not token:
        return None
    row = session.exec(select(AuthSession).where(AuthSession.token_hash == token_hash(token))).first()
    if row is None or row.kind != kind or row.expires_at <= utcnow():
        # Remembered so the login page can say "your session has expired" instead of nothing.
        request.state.stale_session = kind == "web"
        return None
    user = session.get(User, row.user_id)
    if user is None or user.disabled:
        request.state.stale_session = kind == "web"
        return None
    sites = session.exec(select(UserSite.site_id).where(UserSite.user_id == user.id)).all()
    return Principal(
        user_id=user.id or 0,
        username=user.username,
        role=Role(user.role),
        site_ids=frozenset(sites) if sites else None,
        via=kind,
        csrf_token=row.csrf_token,
        session_id=row.id,
        language=user.language,
        must_change_password=user.must_change_password,
    )


def optional_principal(request: Request, session: Session) -> Principal | None:
    """For public routes that show more to a logged-in user (private reports of their sites): the
    principal, unless it must still replace a one-time password (then it counts as anonymous)."""
    principal = load_principal(request, session)
    return None if principal is None or principal.must_change_password else principal


async def _check_csrf(request: Request, principal: Principal) -> None:
    if principal.via != "web" or request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER)
    if not sent:
        content_type = request.headers.get("content-type", "")
        if "form" in content_type:
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    if not sent or not principal.csrf_token or not same(sent, principal.csrf_token):
        raise CsrfFailed()


# Where ``collector.http.guard`` leaves the principal it authenticated before the body was read.
PREAUTH_KEY = "wardwatch.principal"


def authorize(request: Request, session: Session, allowed: tuple[Role, ...]) -> Principal:
    """The caller if logged in with one of ``allowed``; else 401 / the login page, or 403."""
    principal = load_principal(request, session)
    if principal is None:
        if is_api(request):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "not authenticated: log in or send a valid bearer token",
                headers={"WWW-Authenticate": "Bearer"},
            )
        raise LoginRequired()
    if principal.role not in allowed:
        request.state.principal = principal  # the 403 page still shows the user's navigation
        if is_api(request):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "your role may not do this")
        raise Forbidden()
    return principal


def confine(request: Request, principal: Principal, *, city_wide: bool, pending_password: bool) -> None:
    """Refuse a user who must still replace a one-time password, and a site-limited user on a
    city-wide route (no database work: safe on the event loop)."""
    if principal.must_change_password and not pending_password:
        request.state.principal = principal
        raise PasswordChangeRequired()
    if city_wide and not principal.city_wide:
        request.state.principal = principal
        if is_api(request):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                "a city-wide setting: only users not limited to some sites may change it",
            )
        raise Forbidden()


def allow(*roles: Role, city_wide: bool = False, pending_password: bool = False) -> Any:
    """A dependency admitting logged-in users with one of ``roles`` (all roles when none given).

    ``city_wide``: the route changes something that belongs to the whole city (unit costs, scoring,
    due-date policy, checklist templates): a user limited to sites gets 403 even with the right role.
    ``pending_password``: also open to a user who must still replace a one-time password (the
    change-password routes, logout, /me); every other route refuses them until they have.
    """
    allowed = roles or ALL_ROLES

    @mark("roles", allowed)
    async def dependency(request: Request, session: DbSession) -> Principal:
        preauth = request.scope.get(PREAUTH_KEY)
        principal = preauth if isinstance(preauth, Principal) and preauth.role in allowed else None
        if principal is None:
            # The lookup is database work: a worker thread, never the event loop.
            principal = await run_in_threadpool(authorize, request, session, allowed)
        confine(request, principal, city_wide=city_wide, pending_password=pending_password)
        await _check_csrf(request, principal)
        request.state.principal = principal
        return principal

    dependency.__wardwatch_city_wide__ = city_wide  # type: ignore[attr-defined]
    return dependency


@mark("public")
def public() -> None:
    """Declares a route open to anyone."""


@mark("agent")
def agent_auth(request: Request, session: DbSession) -> Agent:
    token = _bearer(request)
    if token is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "agent key missing: send 'Authorization: Bearer <agent key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    from collector.services.enrollment import authenticate_agent

    agent = authenticate_agent(session, token)
    if session.dirty or session.new:
        session.commit()  # a rotated key's first use retired the old key: keep that whatever follows
    if agent is None:
        _count_unknown_key(request)
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "unknown agent key; enroll again",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if agent.revoked_at is not None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "this agent key was revoked by an administrator",
            # Tells the agent not to re-enroll by itself, which would undo the revocation.
            headers={"WWW-Authenticate": "Bearer", "X-Wardwatch-Agent": "revoked"},
        )
    settings = request.app.state.settings
    if settings.require_client_cert:
        _require_agent_certificate(request, session, agent, settings)
    return agent


@mark("agent")
def reporting_agent(request: Request, session: DbSession) -> Agent:
    """``agent_auth`` for a route that reads a body after the key check (``POST /api/v1/reports``):
    the read transaction ends in the same worker thread, so the connection goes back to the pool while
    the body streams in and the report waits for an ingest slot (otherwise every waiting report holds
    one, and 32 agents at once exhausted the pool), and the ROLLBACK's round trip is not made on the
    event loop. The agent stays in the session as it was read: an ingest in this process uses it
    without reading it again."""
    agent = agent_auth(request, session)
    release_keeping(session, agent)
    return agent


def release_keeping(session: Session, agent: Agent) -> None:
    """End the session's transaction (its connection goes back to the pool) keeping ``agent`` as it
    was just read, so the ingest does not read it again (a rollback expires what the session holds)."""
    state = sa_inspect(agent)
    if state.expired_attributes or not state.persistent:
        session.rollback()  # read again on first use, as before
        return
    session.expunge(agent)
    session.rollback()
    session.add(agent)  # attached again, as loaded: no query; the ingest's flush writes its changes


def _require_agent_certificate(
    request: Request, session: Session, agent: Agent, settings: CollectorSettings
) -> None:
    """Mutual TLS: the certificate this TLS connection presented, or one a trusted proxy forwarded."""
    from collector.proxy import FORWARDED_CERT, PEER_CERT
    from collector.services.agent_certs import CertificateRefused, check

    state = request.scope.get("state", {})
    try:
        check(
            session,
            data_dir=settings.data_dir,
            agent=agent,
            der=state.get(PEER_CERT),
            pem=state.get(FORWARDED_CERT),
        )
    except CertificateRefused as exc:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            str(exc),
            # Tells the agent this is about its certificate, not its key: no re-enrollment by itself.
            headers={"WWW-Authenticate": "Bearer", "X-Wardwatch-Agent": "certificate"},
        ) from None


def _count_unknown_key(request: Request) -> None:
    """An unknown agent key is a failed anonymous attempt: counted per address and minute, and an
    address past the limit is told to wait (429) instead of being answered."""
    from collector.services import throttle
    from collector.services.audit import count_failure

    address = request.client.host if request.client else None
    with Session(request.app.state.engine) as counting:
        try:
            throttle.check_address(counting, address=address)
        except throttle.TooManyAttempts as exc:
            counting.commit()
            raise HTTPException(
                status.HTTP_429_TOO_MANY_REQUESTS, str(exc), headers={"Retry-After": str(exc.retry_after)}
            ) from None
        count_failure(counting, action=throttle.UNKNOWN_AGENT_KEY, address=address)
        counting.commit()


Public = Depends(public)
AnyUser = Annotated[Principal, Depends(allow())]
AdminUser = Annotated[Principal, Depends(allow(Role.ADMIN))]
StaffUser = Annotated[Principal, Depends(allow(Role.ADMIN, Role.TECHNICIAN))]
InspectorUser = Annotated[Principal, Depends(allow(Role.ADMIN, Role.INSPECTOR))]
PlannerUser = Annotated[Principal, Depends(allow(Role.ADMIN, Role.PLANNER))]
# City-wide settings: administrators (and planners, for prices) not limited to sites.
CityAdmin = Annotated[Principal, Depends(allow(Role.ADMIN, city_wide=True))]
CityPlanner = Annotated[Principal, Depends(allow(Role.ADMIN, Role.PLANNER, city_wide=True))]
# Open to a user who must still replace a one-time password (changing it, logging out, /me).
PendingUser = Annotated[Principal, Depends(allow(pending_password=True))]
AuthedAgent = Annotated[Agent, Depends(agent_auth)]
# The same check, its transaction ended before the route runs (see ``reporting_agent``).
ReportingAgent = Annotated[Agent, Depends(reporting_agent)]
