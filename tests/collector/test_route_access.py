"""Every route of the app declares who may call it, and the declaration is enforced.

The routes are enumerated from the app itself (``route_table``), so a route added by anyone without an
access declaration fails here. For each route:
- exactly one declaration (``roles``, ``public`` or ``agent``) among the calls of its dependency tree;
- ``roles``: no credentials -> 401 (API, machine endpoints) or a redirect to /login (pages); a logged-in
  user of a role not allowed -> 403; on GET, a user of an allowed role gets past the door;
- ``agent``: no key -> 401, a user's token instead of an agent key -> 401;
- ``public``: open to anyone by declaration.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from starlette.requests import Request

from collector.app import create_app
from collector.db import session_scope
from collector.http.access import route_table
from collector.http.deps import is_api as answers_like_api
from collector.models.core import Role
from collector.services.sites import create_site
from collector.services.users import create_auth_session, create_user
from collector.settings import CollectorSettings
from tests.collector.support import declarations
from tests.helpers import PASSWORD

ALL_ROLES = tuple(Role)


PLAUSIBLE = {"code": "S1", "agent_id": str(uuid.uuid4()), "check_id": "host.firewall.enabled"}


def fill_path(path: str, dependant: Any) -> str:
    """A concrete URL for the route: ints get 1, known names a plausible value, others a word."""
    for param in dependant.path_params:
        annotation = param.field_info.annotation
        if annotation is int:
            value = "1"
        elif param.name in PLAUSIBLE:
            value = PLAUSIBLE[param.name]
        else:
            value = "x1"
        path = re.sub("{" + param.name + "(:[a-z]+)?}", value, path)
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Any) -> Any:
    import shutil

    path = tmp_path_factory.mktemp("access") / "wardwatch.db"
    shutil.copy(sqlite_template, path)
    settings = CollectorSettings(database_url=f"sqlite:///{path}", data_dir=path.parent / "data")
    app = create_app(settings)
    web: dict[Role, str] = {}
    api: dict[Role, str] = {}
    with session_scope(app.state.engine) as session:
        create_site(session, code="S1", name="Site one")
        for role in ALL_ROLES:
            user = create_user(session, username=f"u-{role.value}", password=PASSWORD, role=role)
            web[role], _ = create_auth_session(session, user, kind="web", hours=1)
            api[role], _ = create_auth_session(session, user, kind="api", hours=1)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield app, client, web, api
    app.state.engine.dispose()


def _routes() -> list[tuple[str, str, Any]]:
    app = create_app(CollectorSettings(database_url="sqlite://"))
    rows = [(path, sorted(methods)[0], dep) for path, methods, dep in route_table(app)]
    app.state.engine.dispose()
    return rows


ROUTES = _routes()


def test_routes_were_found() -> None:
    paths = {p for p, _m, _d in ROUTES}
    assert {"/", "/login", "/api/v1/devices", "/api/v1/reports", "/admin/users"} <= paths


@pytest.mark.parametrize(("path", "method", "dependant"), ROUTES, ids=[f"{m} {p}" for p, m, _d in ROUTES])
def test_route_declares_and_enforces_access(world: Any, path: str, method: str, dependant: Any) -> None:
    _app, client, web, api = world
    marks = declarations(dependant)
    assert len(marks) == 1, (
        f"{method} {path} must declare its access exactly once (AnyUser/AdminUser/... parameter, "
        f"dependencies=[Public] or AuthedAgent); found {marks or 'none'}"
    )
    kind, roles = marks[0]
    url = fill_path(path, dependant)
    # /api (and machine endpoints such as /metrics) answer 401; pages redirect to the login page.
    is_api = answers_like_api(Request({"type": "http", "path": url, "headers": [], "query_string": b""}))

    def call(headers: dict[str, str] | None = None) -> Any:
        return client.request(method, url, headers=headers or {}, follow_redirects=False)

    if kind == "public":
        return
    if kind == "agent":
        assert call().status_code == 401
        assert call({"Authorization": f"Bearer {api[Role.ADMIN]}"}).status_code == 401
        return
    assert kind == "roles" and roles, f"{method} {path}: a roles declaration needs roles"

    anonymous = call()
    if is_api:
        assert anonymous.status_code == 401, f"{method} {path} answered {anonymous.status_code} without login"
    else:
        assert anonymous.status_code == 303, f"{method} {path} answered {anonymous.status_code} without login"
        assert anonymous.headers["location"].startswith("/login")

    def as_role(role: Role) -> Any:
        if is_api:
            return call({"Authorization": f"Bearer {api[role]}"})
        return call({"Cookie": f"ww_session={web[role]}"})

    for role in ALL_ROLES:
        if role not in roles:
            answer = as_role(role)
            assert answer.status_code == 403, f"{method} {path} let {role.value} in ({answer.status_code})"
    if method == "GET":
        admitted = as_role(roles[0])
        assert admitted.status_code not in (401, 403), f"{method} {path} refused {roles[0].value}"
        assert not admitted.headers.get("location", "").startswith("/login")


def test_a_route_without_declaration_is_caught() -> None:
    """The check above would fail for a route someone forgot to protect."""
    app = FastAPI()
    router = APIRouter()

    @router.get("/forgotten")
    def forgotten() -> dict[str, str]:
        return {}

    app.include_router(router)
    [(_path, _methods, dependant)] = [r for r in route_table(app) if r[0] == "/forgotten"]
    assert declarations(dependant) == []


def test_bearer_token_of_a_web_session_is_not_an_api_token(world: Any) -> None:
    _app, client, web, _api = world
    assert (
        client.get("/api/v1/sites", headers={"Authorization": f"Bearer {web[Role.ADMIN]}"}).status_code == 401
    )
