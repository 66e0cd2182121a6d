"""Dependencies shared by API routes and web pages, as ``Annotated`` aliases."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
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


# Coroutines, not plain functions: FastAPI runs a plain function dependency in a worker thread (a
# hand-off there and back per request) and these only read the app's state.
async def get_settings(request: Request) -> CollectorSettings:
    return request.app.state.settings


async def get_engine(request: Request) -> Engine:
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
        raise _key_missing()
    return check_agent_key(request, session, token)


def _key_missing() -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        "agent key missing: send 'Authorization: Bearer <agent key>'",
        headers={"WWW-Authenticate": "Bearer"},
    )


def check_agent_key(request: Request, session: Session, token: str) -> Agent:
    """The agent holding ``token``, read in ``session``'s transaction; 401 for an unknown or revoked
    key (or, with ``require_client_cert``, a missing or wrong certificate). A key refused here leaves
    this process's verified keys (``VerifiedKeys``)."""
    from collector.services.enrollment import authenticate_agent

    try:
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
    except HTTPException:
        verified_keys(request).discard(token_hash(token))
        raise
    return agent


class VerifiedKeys:
    """Digests (SHA-256, as stored) of the agent keys this serving process found valid: a report
    whose key is among them has its body read without a key check first, and its key is checked in
    its ingest transaction instead (``check_agent_key``, the same statement and answers), so a key
    revoked, or retired by its rotated successor, in this process or any other, is refused by the
    very next report. What the set saves is the check's own transaction and worker-thread hand-off
    before the body; what it allows is only that a key valid once here has its body (at most
    ``max_report_bytes``) read before it is refused, once: the refusal takes it out. Bounded: past
    ``limit`` digests the set starts again empty (keys are then checked before the body once more)."""

    def __init__(self, limit: int = 200_000) -> None:
        self.limit = limit
        self._digests: set[str] = set()

    def __contains__(self, digest: str) -> bool:
        return digest in self._digests

    def add(self, digest: str) -> None:
        if len(self._digests) >= self.limit:
            self._digests = set()
        self._digests.add(digest)

    def discard(self, digest: str) -> None:
        self._digests.discard(digest)


def verified_keys(request: Request) -> VerifiedKeys:
    """This app's ``VerifiedKeys`` (one per serving process)."""
    state = request.app.state
    keys = getattr(state, "verified_agent_keys", None)
    if keys is None:
        keys = state.verified_agent_keys = VerifiedKeys()
    return keys


@dataclass(frozen=True)
class ReportKey:
    """A report's agent key as ``reporting_key`` left it: ``agent`` as the check before the body read
    it (detached: no connection is held while the body streams in), or None when the key was found
    among this process's verified keys and is checked in the ingest transaction (``agent_for``)."""

    token: str
    agent: Agent | None


@mark("agent")
async def reporting_key(request: Request) -> ReportKey:
    """The key check of ``POST /api/v1/reports``, before its body is read: ``agent_auth`` in a worker
    thread with a session of its own, ended there (its connection goes back to the pool while the
    body streams in and the report waits for an ingest slot; the rollback is not made on the event
    loop). Skipped for a key among this process's ``VerifiedKeys``: the ingest checks it again in its
    own transaction (``agent_for``), so that the common report costs one transaction and one worker
    thread, not two."""
    token = _bearer(request)
    if token is None:
        raise _key_missing()
    keys = verified_keys(request)
    if token_hash(token) in keys:
        return ReportKey(token, None)
    agent = await run_in_threadpool(_check_detached, request, token)
    keys.add(token_hash(token))
    return ReportKey(token, agent)


def _check_detached(request: Request, token: str) -> Agent:
    with Session(request.app.state.engine) as session:
        return check_agent_key(request, session, token)  # closing the session detaches it as read


def agent_for(request: Request, session: Session, key: ReportKey) -> Agent:
    """The reporting agent in ``session``: the one the check before the body read, attached as it was
    read (no query), or, for a key found among the verified keys, checked now in this transaction."""
    if key.agent is not None:
        session.add(key.agent)
        return key.agent
    return check_agent_key(request, session, key.token)


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
# The same check for a report, before its body is read or in its ingest (see ``reporting_key``).
ReportingKey = Annotated[ReportKey, Depends(reporting_key)]
