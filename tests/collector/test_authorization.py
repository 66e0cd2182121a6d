"""The authorization suite: every route x every role x (unscoped, scoped to site A), acting on site B.

The world (``authz_world.py``) has two sites, A and B, each with an object of every kind: device,
network device, report, finding, certificate, LAN scan, inspection, photo, action, publication, share
link, asset, managed network device, user, enroll secret, agent, audit entries. B's things carry the
marker ``zqb``. For each route, each role and each scope, the suite checks what ``ACCESS`` declares:

- ``Obj()``    reading one of B's objects: a user scoped to A gets 404 (missing and forbidden look the
               same); an unscoped user of an allowed role gets it (the answer shows ``zqb``).
- ``Act(404)`` changing one of B's objects (by its id): 404 for a user scoped to A, and nothing changes
  ``Act(403)`` an action naming site B, granting beyond one's scope: 403, and nothing changes.
- ``City()``   a city-wide setting: 403 for anyone scoped to sites, whatever their role.
- ``List()``   a list or report: a user scoped to A gets it without any of B's objects; an unscoped
               user's answer does show B's (so the list would have shown them).
- ``Probe()``  a request whose answer describes B's objects it was asked about (the asset import):
               nothing of B for A's users, and nothing changes.
- ``Own()``    about the caller only (/me, changing one's password): never shows anything of B.
- ``Open()``   public and about no site's objects (login, health, enroll); ``Agent()``: agent key routes
               (the agent identity suite covers them).
- ``Moved(to)`` a former path kept for existing clients: everyone (anonymous too) gets a 308 to ``to``
               with the query string, and nothing else; the new path's own entry checks the access.
Roles a route does not admit get 403 whatever the object. Writes are also replayed by an unscoped user
on a fresh copy of the world (``test_writes_reach_their_object_for_unscoped_users``), which proves each
entry's request is well-formed: a 404 for A's users then means "not yours", not "wrong URL".

Adding a route: add one line to ``ACCESS`` with its ``"METHOD /path"`` (as FastAPI lists it). Path
parameters are filled from their names (``device_id`` -> B's host device, ``code`` -> B's site code,
see ``PATH_KINDS``); give ``path={"device_id": "b.netdevice"}`` to pick another object, and ``params``,
``json``, ``data`` for the request, where a string like ``"b.code"`` or ``"a.device"`` is replaced by
that site's object (``"self"``: the caller's user id). A route missing from ``ACCESS`` fails
``test_every_route_is_declared``.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from collector.app import create_app
from collector.http.access import route_table
from collector.http.deps import SAFE_METHODS, is_api
from collector.models import metadata
from collector.models.core import Role
from collector.services.jobs import run_pending_jobs
from collector.settings import CollectorSettings
from tests.collector.authz_world import MARK_B, Principal, World, build_world
from tests.collector.inspections.support import PNG
from tests.collector.support import declarations
from tests.helpers import PASSWORD, truncate_all


@dataclass(frozen=True)
class Case:
    kind: str  # obj, act, city, list, probe, own, open, agent
    expect: int = 404  # what a user scoped to A gets (obj, act)
    path: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    data: dict[str, Any] | None = None
    files: bool = False  # send a PNG as ``file``
    content: str | None = None  # a raw body (text/csv)
    mark: str | None = MARK_B  # what an unscoped user's answer shows; None: only its status is checked
    control: bool = True  # run the unscoped user as a positive control
    writes: bool = False  # a probe that changes things when an unscoped user sends it
    run: bool = True
    # Objects of one owner (a notification subscription): unscoped users of other roles are limited too.
    control_roles: tuple[Role, ...] | None = None
    to: str | None = None  # moved: the new path the 308 names


def Obj(**kw: Any) -> Case:
    return Case("obj", **kw)


def Act(expect: int = 404, **kw: Any) -> Case:
    return Case("act", expect=expect, **kw)


def City(expect: int = 403, **kw: Any) -> Case:
    return Case("city", expect=expect, **kw)


def List(**kw: Any) -> Case:
    return Case("list", **kw)


def Probe(**kw: Any) -> Case:
    return Case("probe", **kw)


def Own(**kw: Any) -> Case:
    return Case("own", **kw)


def Open() -> Case:
    return Case("open", run=False)


def Agent() -> Case:
    return Case("agent", run=False)


def Moved(to: str, **kw: Any) -> Case:
    return Case("moved", to=to, mark=None, **kw)


BUDGET = {"budget": "100000000"}
# A plan that funds nothing while asking for devices in every commune: each commune's note says so.
SHORT = {"budget": "0", "min_per_site": "50"}
SOON = (date.today() + timedelta(days=30)).isoformat()
SYNC = {"ops": [{"op_id": "authz-suite-op-1", "item_id": "b.item", "value": "pass", "base_revision": 0}]}
MANAGED = {"site": "a.code", "name": "renamed", "host": "192.168.10.3", "username": "ww"}
IMPORT_CSV = "asset_tag,serial,supplier\nTAG-ZQB,,from-import\n,SN-ZQB,from-import\nTAG-ZQA,,from-import\n"
IMPORT_CSV_B = (
    "asset_tag,serial,supplier\nTAG-ZQB,,from-import\n,SN-ZQB,from-import\n"  # applying changes B only
)
WRONG_CHANGE = {"current_password": "not-the-password", "new_password": "another-long-phrase-9"}
NEW_USER = {"username": "made-by-suite", "password": PASSWORD, "role": "viewer"}

# One line per route. Keep it sorted as FastAPI lists them (API first, then pages).
ACCESS: dict[str, Case | tuple[Case, ...]] = {
    "POST /api/v1/agents/enroll": Open(),
    "GET /api/v1/agents": List(),
    "POST /api/v1/agents/{agent_id}/revoke": Act(),
    "GET /api/v1/enroll-secrets": List(),
    "POST /api/v1/enroll-secrets": Act(403, json={"site": "b.code", "label": "x"}),
    "POST /api/v1/enroll-secrets/{secret_id}/revoke": Act(),
    "POST /api/v1/auth/token": Open(),
    "GET /api/v1/certificates": (
        List(),
        Obj(params={"site": "b.code"}),
        List(params={"device_id": "b.device"}),
    ),
    "GET /api/v1/findings": (List(), Obj(params={"site": "b.code"}), List(params={"device": "b.device"})),
    "GET /api/v1/findings/{finding_id}": Obj(),
    "POST /api/v1/findings/{finding_id}/accept": Act(json={"reason": "accepted for now", "until": SOON}),
    "GET /api/v1/sites/{code}/compliance": Obj(),
    "GET /api/v1/inspections": (List(), Obj(params={"site": "b.code"})),
    "POST /api/v1/inspections": Act(403, json={"site": "b.code"}),
    "GET /api/v1/inspections/{inspection_id}": Obj(),
    "POST /api/v1/inspections/{inspection_id}/prefill": Act(),
    "POST /api/v1/inspections/{inspection_id}/sync": Act(json=SYNC),
    "POST /api/v1/inspections/{inspection_id}/photos": Act(data={"item_id": "b.item"}, files=True),
    "GET /api/v1/inspections/{inspection_id}/photos/{photo_id}": (
        Obj(mark=None),
        Obj(path={"inspection_id": "a.inspection"}, control=False),
    ),
    "POST /api/v1/inspections/{inspection_id}/signoff": Act(json={"signature_name": "Lê Văn B"}),
    "POST /api/v1/inspections/{inspection_id}/publish": Act(json={"public": False}),
    "GET /api/v1/actions": (List(), Obj(params={"site": "b.code"})),
    "PATCH /api/v1/actions/{action_id}": Act(json={"owner": "someone"}),
    "GET /api/v1/sites": List(),
    "GET /api/v1/devices": (List(), Obj(params={"site": "b.code"})),
    "GET /api/v1/devices/{device_id}": Obj(),
    "GET /api/v1/devices/{device_id}/reports": Obj(mark="b.report"),
    "GET /api/v1/sites/{code}/lan": Obj(),
    "GET /api/v1/devices/{device_id}/configs": Obj(path={"device_id": "b.netdevice"}, mark=None),
    "GET /api/v1/devices/{device_id}/configs/diff": (
        Obj(path={"device_id": "b.netdevice"}, params={"a": "b.version", "b": "b.version2"}, mark="logging"),
        Obj(path={"device_id": "a.netdevice"}, params={"a": "b.version", "b": "b.version2"}, control=False),
    ),
    "GET /api/v1/devices/{device_id}/configs/{version_id:int}": (
        Obj(path={"device_id": "b.netdevice"}),
        Obj(path={"device_id": "a.netdevice"}, control=False),
    ),
    "GET /api/v1/netdevices": (List(), List(params={"site": "b.code"})),
    "POST /api/v1/netdevices": Act(403, json={**MANAGED, "site": "b.code"}),
    "PUT /api/v1/netdevices/{managed_id}": (
        Act(json=MANAGED),
        Act(403, path={"managed_id": "a.managed"}, json={**MANAGED, "site": "b.code"}),
    ),
    "DELETE /api/v1/netdevices/{managed_id}": Act(),
    "GET /api/v1/planning/plan": List(params=BUDGET),
    "GET /api/v1/planning/plan/notes": List(params=SHORT),
    "GET /api/v1/planning/scores": (List(), List(params={"site": "b.code"})),
    "GET /api/v1/planning/unit-costs": Own(),
    "PUT /api/v1/planning/unit-costs": City(json={"desktop": 15000000}),
    "GET /api/v1/planning/assets": (List(), List(params={"site": "b.code"})),
    "GET /api/v1/planning/assets/report": List(),
    "GET /api/v1/planning/assets/{device_id:int}": Obj(),
    "PUT /api/v1/planning/assets/{device_id:int}": Act(json={"supplier": "changed"}),
    "POST /api/v1/planning/assets/import": (
        Probe(content=IMPORT_CSV, mark="pc-zqb"),
        Probe(content=IMPORT_CSV_B, params={"apply": "true"}, mark="pc-zqb", writes=True),
    ),
    # The planning API's former paths (/replacement/..., /assets/...): a 308 to the new one.
    "GET /api/v1/replacement{rest:path}": (
        Moved("/api/v1/planning/plan", path={"rest": "/plan"}, params=BUDGET),
        Moved("/api/v1/planning/scores", path={"rest": "/scores"}, params={"site": "b.code"}),
    ),
    "PUT /api/v1/replacement{rest:path}": Moved(
        "/api/v1/planning/unit-costs", path={"rest": "/unit-costs"}, json={"desktop": 15000000}
    ),
    "GET /api/v1/assets{rest:path}": (
        Moved("/api/v1/planning/assets", path={"rest": ""}, params={"site": "b.code"}),
        Moved("/api/v1/planning/assets/report", path={"rest": "/report"}),
    ),
    "PUT /api/v1/assets{rest:path}": Moved(
        "/api/v1/planning/assets/7", path={"rest": "/7"}, json={"supplier": "changed"}
    ),
    "POST /api/v1/assets{rest:path}": Moved(
        "/api/v1/planning/assets/import", path={"rest": "/import"}, content=IMPORT_CSV
    ),
    "POST /api/v1/reports": Agent(),
    "GET /api/v1/me": Own(),
    "POST /api/v1/me/password": Own(json=WRONG_CHANGE),
    "GET /api/v1/users": List(),
    "POST /api/v1/users": (
        Act(403, json={**NEW_USER, "sites": ["b.code"]}),
        Act(403, json={**NEW_USER, "sites": []}),  # "every site" is beyond a scoped admin too
    ),
    "PUT /api/v1/users/{user_id}": (
        Act(json={"role": "viewer", "sites": ["a.code"]}),
        Act(403, path={"user_id": "self"}, json={"role": "admin", "sites": []}),
        Act(403, path={"user_id": "self"}, json={"role": "admin", "sites": ["a.code", "b.code"]}),
    ),
    "POST /api/v1/users/{user_id}/disable": Act(),
    "POST /api/v1/users/{user_id}/enable": Act(),
    "POST /api/v1/users/{user_id}/reset-password": (Act(), Act(path={"user_id": "admin-city"})),
    "GET /api/v1/audit": (List(), Obj(params={"site": "b.code"})),
    "GET /api/v1/agents/ca.pem": Open(),
    "GET /api/v1/agents/crl.pem": Open(),
    "GET /api/v1/agents/me": Agent(),
    "POST /api/v1/agents/rotate-key": Agent(),
    "POST /api/v1/agents/certificate": Agent(),
    "GET /api/v1/devices/{device_id}/history": Obj(),
    "GET /api/v1/sites/{code}/changes": Obj(),
    "POST /api/v1/findings/{finding_id}/resolve": Act(json={"note": "repaired on site, record 12"}),
    "GET /api/v1/identity-conflicts": (
        List(),
        List(params={"status": "all"}),
        List(params={"device_id": "b.device"}, mark=None),
    ),
    "GET /api/v1/identity-conflicts/{claim_id}": Obj(),
    "POST /api/v1/identity-conflicts/{claim_id}/resolve": Act(json={"action": "keep_apart"}),
    "POST /api/v1/devices/{device_id}/move": (
        Act(json={"site": "a.code"}),
        Act(404, path={"device_id": "a.device"}, json={"site": "b.code"}),  # "no site": not theirs
    ),
    "GET /api/v1/inspections/{inspection_id}/publication-preview": Obj(
        path={"inspection_id": "b.signed_inspection"}
    ),
    "GET /api/v1/notifications/event-types": Own(),
    "GET /api/v1/notifications/subscriptions": (
        List(mark="ops-zqb", control_roles=(Role.ADMIN,)),
        List(params={"all": "true"}, mark="ops-zqb", control_roles=(Role.ADMIN,)),
    ),
    "POST /api/v1/notifications/subscriptions": Act(
        json={"event": "finding.opened", "channel": "email", "target": "x@example.org", "site": "b.code"}
    ),
    "PATCH /api/v1/notifications/subscriptions/{subscription_id}": Act(json={"enabled": False}),
    "DELETE /api/v1/notifications/subscriptions/{subscription_id}": Act(),
    "GET /api/v1/notifications/subscriptions/{subscription_id}/deliveries": Obj(
        mark=None, control_roles=(Role.ADMIN,)
    ),
    "POST /api/v1/notifications/subscriptions/{subscription_id}/secret": Act(),
    "POST /api/v1/notifications/subscriptions/{subscription_id}/test": Act(),
    "GET /api/v1/openapi.json": Own(),
    "GET /api/v1/search": (List(params={"q": "00:11:22:33:44:bb"}), List(params={"q": "SN-ZQB"})),
    "POST /api/v1/sites": City(json={"code": "NEW-SITE", "name": "Xã mới"}),
    "POST /api/v1/sites/merge": City(json={"source": "b.code", "target": "a.code"}),
    "PUT /api/v1/sites/{code}": City(json={"name": "Phường đổi tên"}),
    "GET /api/v1/software": (List(), List(params={"q": "ketoan"})),
    "GET /api/v1/vulnerabilities": (
        List(),
        Obj(params={"site": "b.code"}),
        List(params={"device_id": "b.device"}),
    ),
    "GET /api/v1/vulnerabilities/data": Own(),
    "GET /healthz": Open(),
    "GET /account/password": Own(),
    "POST /account/password": Own(data={**WRONG_CHANGE, "confirm_password": WRONG_CHANGE["new_password"]}),
    "GET /admin/users": List(),
    "POST /admin/users": (
        Act(403, data={**NEW_USER, "sites": "b.code"}),
        Act(403, data=NEW_USER),
    ),
    "GET /admin/users/{user_id}": Obj(),
    "POST /admin/users/{user_id}": (
        Act(data={"role": "viewer", "sites": "a.code"}),
        Act(403, path={"user_id": "self"}, data={"role": "admin", "sites": "b.code"}),
    ),
    "POST /admin/users/{user_id}/disable": Act(),
    "POST /admin/users/{user_id}/enable": Act(),
    "POST /admin/users/{user_id}/reset-password": (Act(), Act(path={"user_id": "admin-city"})),
    "GET /admin/enroll-secrets": List(),
    "POST /admin/enroll-secrets": Act(403, data={"site": "b.code", "label": "x"}),
    "POST /admin/enroll-secrets/{secret_id}/revoke": Act(),
    "GET /admin/audit": List(),
    "GET /agents": List(),
    "POST /agents/{agent_id}/revoke": Act(),
    "GET /login": Open(),
    "POST /login": Open(),
    "POST /logout": Own(run=False),  # would end the caller's session; nothing of a site in it
    "GET /certificates": (List(), Obj(params={"site": "b.code"})),
    "GET /sites/{code}/certificates": Obj(),
    "GET /devices/{device_id}/certificates": Obj(),
    "GET /devices/{device_id}": Obj(),
    "GET /devices/{device_id}/software": Obj(mark=None),
    "GET /findings": (List(), Obj(params={"site": "b.code"}), List(params={"device": "b.device"})),
    "GET /findings/{finding_id}": Obj(),
    "POST /findings/{finding_id}/accept": Act(data={"reason": "accepted for now", "until": SOON}),
    "GET /inspections": (List(), Obj(params={"site": "b.code"})),
    "POST /inspections": Act(403, data={"site": "b.code"}),
    "GET /inspections/{inspection_id}": Obj(),
    "POST /inspections/{inspection_id}/prefill": Act(),
    "POST /inspections/{inspection_id}/signoff": Act(data={"signature_name": "Lê Văn B"}),
    "POST /inspections/{inspection_id}/publish": Act(),
    "POST /actions/{action_id}": Act(data={"owner": "someone"}),
    "POST /inspections/{inspection_id}/share": Act(path={"inspection_id": "b.published_inspection"}),
    "POST /share-links/{link_id}/revoke": Act(),
    "GET /sites/{code}/lan": Obj(),
    "POST /lang": Open(),
    "GET /metrics": City(),
    "GET /devices/{device_id}/configs/diff": (
        Obj(path={"device_id": "b.netdevice"}, params={"a": "b.version", "b": "b.version2"}),
        Obj(path={"device_id": "a.netdevice"}, params={"a": "b.version", "b": "b.version2"}, control=False),
    ),
    "GET /devices/{device_id}/configs/{version_id}": (
        Obj(path={"device_id": "b.netdevice"}),
        Obj(path={"device_id": "a.netdevice"}, control=False),
    ),
    "GET /": List(),
    "GET /planning": List(params=BUDGET),
    "GET /planning/plan.{fmt}": List(params=BUDGET),
    "GET /planning/notes": List(params=SHORT),
    "GET /planning/assets": List(),
    "GET /planning/assets/report.{fmt}": List(),
    "GET /planning/assets/{device_id}": Obj(),
    "POST /planning/assets/{device_id}": Act(data={"supplier": "changed"}),
    "GET /planning/import": Own(),
    "POST /planning/import": Probe(data={"csv_text": IMPORT_CSV}, mark="pc-zqb"),
    "POST /planning/import/apply": Probe(data={"csv_text": IMPORT_CSV_B}, mark=None, writes=True),
    "GET /planning/costs": Own(),
    "POST /planning/costs": City(data={"cost_desktop": "15000000"}),
    "GET /.well-known/wardwatch-publishing-key.pem": Open(),
    "GET /published": List(),
    "GET /published/feed.json": List(control=False),  # public reports only: B's is private
    "GET /published/feed.atom": List(control=False),
    "GET /published/{name}": Obj(),
    "GET /s/{name}": Open(),  # the share token is the credential
    "POST /api/v1/published/{slug}/share-links": Act(),
    "DELETE /api/v1/share-links/{link_id}": Act(),
    "GET /api/v1/published": List(),
    "GET /sites/{code}": Obj(),
    "GET /.well-known/wardwatch-publishing-keys.pem": Open(),
    "POST /csp-report": Open(),
    "GET /docs": Own(),
    "GET /redoc": Own(),
    "GET /admin/identity": List(),
    "POST /admin/identity/{claim_id}": Act(data={"action": "keep_apart"}),
    "POST /devices/{device_id}/move": (
        Act(data={"site": "a.code"}),
        Act(path={"device_id": "a.device"}, data={"site": "b.code"}, expect=303),
    ),
    "GET /admin/signing-certificate": City(404),  # the organisation's: not even shown to a scoped admin
    "GET /admin/sites": List(),
    "POST /admin/sites": City(data={"code": "NEW-SITE", "name": "Xã mới"}),
    "GET /admin/sites/merge": City(),
    "POST /admin/sites/merge": City(data={"source": "b.code", "target": "a.code", "confirm": "a.code"}),
    "GET /admin/sites/{code}": Obj(),
    "POST /admin/sites/{code}": City(data={"name": "Phường đổi tên"}),
    "GET /admin/vulnerabilities/unmapped": List(),
    "POST /admin/vulnerabilities/unmapped": City(
        data={"name": "Ketoan zqb 2024", "source": "registry", "product_id": "rarlab:winrar"}
    ),
    "GET /certificates/table": (List(), Obj(params={"site": "b.code"})),
    "GET /devices": (List(), Obj(params={"site": "b.code"})),
    "GET /devices/{device_id}/checks": Obj(),
    "GET /devices/{device_id}/hardware": Obj(),
    "GET /devices/{device_id}/history": Obj(),
    "GET /devices/{device_id}/vulnerabilities": Obj(mark="rarlab"),
    "GET /sites/{code}/changes": Obj(),
    "POST /findings/{finding_id}/resolve": Act(data={"note": "repaired on site, record 12"}),
    "GET /export/devices.{fmt}": (List(), Obj(params={"site": "b.code"})),
    "GET /export/findings.{fmt}": List(),
    "GET /export/certificates.{fmt}": List(),
    "GET /export/software.{fmt}": List(),
    "GET /export/assets.{fmt}": List(),
    "GET /export/audit.{fmt}": List(),
    "GET /export/devices/{device_id}/software.{fmt}": Obj(),
    "GET /inspections/{inspection_id}/publish": Obj(path={"inspection_id": "b.signed_inspection"}),
    "GET /inspections/{inspection_id}/publish/preview.pdf": Obj(
        path={"inspection_id": "b.signed_inspection"}, mark=None
    ),
    "GET /notifications": (
        List(mark="ops-zqb", control_roles=(Role.ADMIN,)),
        List(params={"all": "1"}, mark="ops-zqb", control_roles=(Role.ADMIN,)),
    ),
    "POST /notifications": Act(
        data={"event": "finding.opened", "channel": "email", "target": "x@example.org", "site": "b.code"},
        expect=422,
    ),
    "GET /notifications/{subscription_id}": Obj(control_roles=(Role.ADMIN,), mark="ops-zqb"),
    "POST /notifications/{subscription_id}/toggle": Act(),
    "POST /notifications/{subscription_id}/delete": Act(),
    "POST /notifications/{subscription_id}/test": Act(),
    "POST /notifications/{subscription_id}/secret": Act(),
    "GET /planning/register": List(),
    "GET /search": (List(params={"q": "00:11:22:33:44:bb"}), List(params={"q": "SN-ZQB"})),
    "GET /software": (List(), List(params={"q": "ketoan"})),
    "GET /vulnerabilities": (List(), Obj(params={"site": "b.code"})),
    "GET /vulnerabilities/cve/{cve_id}": List(),
    "GET /vulnerabilities/export.{fmt}": List(),
}

# A path parameter's name says which of B's objects fills it.
PATH_KINDS = {
    "device_id": "b.device",
    "finding_id": "b.finding",
    "inspection_id": "b.inspection",
    "photo_id": "b.photo",
    "action_id": "b.action",
    "user_id": "b.user",
    "secret_id": "b.secret",
    "agent_id": "b.agent",
    "code": "b.code",
    "managed_id": "b.managed",
    "link_id": "b.share_link",
    "slug": "b.slug",
    "name": "b.slug",
    "version_id": "b.version",
    "claim_id": "b.claim",
    "subscription_id": "b.subscription",
    "cve_id": "CVE-2023-38831",
    "fmt": "csv",
}
WRITES = ("act", "city")
# scheduled_run: the app's periodic jobs note their runs whenever they come due, whoever is calling.
VOLATILE_TABLES = {
    "authsession",
    "auditevent",
    "auditeventsite",
    "loginthrottle",
    "devicescore",
    "scheduled_run",
}


def _routes() -> dict[str, tuple[set[str], Any]]:
    app = create_app(CollectorSettings(database_url="sqlite://"))
    table = {f"{sorted(m)[0]} {p}": (m, dep) for p, m, dep in route_table(app)}
    app.state.engine.dispose()
    return table


ROUTES = _routes()


def _cases() -> list[tuple[str, int, Case]]:
    out = []
    for key, value in ACCESS.items():
        for i, case in enumerate(value if isinstance(value, tuple) else (value,)):
            out.append((key, i, case))
    return out


CASES = _cases()


def test_every_route_is_declared() -> None:
    """A route without an entry fails here: say in ACCESS what it does with another site's objects."""
    missing = sorted(set(ROUTES) - set(ACCESS))
    stale = sorted(set(ACCESS) - set(ROUTES))
    assert not missing, "add these routes to ACCESS in tests/collector/test_authorization.py:\n" + "\n".join(
        f'    "{k}": Obj() / List() / Act() / ...,' for k in missing
    )
    assert not stale, f"ACCESS names routes that no longer exist: {stale}"


# --- the world -----------------------------------------------------------------------------------


@dataclass
class Setup:
    app: Any
    client: TestClient
    world: World
    db: Path | None  # the SQLite file (None on PostgreSQL)
    pristine: Path | None


def _make(url: str, data_dir: Path, db: Path | None) -> Iterator[Setup]:
    # No background threads (scheduler, job worker): a refused request must leave the database as it
    # was, and a worker writing at the same moment would make that check lie; queued work is drained
    # once the world is built instead.
    app = create_app(
        CollectorSettings(database_url=url, data_dir=data_dir, scheduler_enabled=False, job_worker=False)
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        world = build_world(client, app.state.engine)
        run_pending_jobs(app.state.engine, app.state.settings)
        pristine = None
        if db is not None:
            pristine = db.with_name("pristine.db")
            with app.state.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            shutil.copy(db, pristine)
        yield Setup(app, client, world, db, pristine)
    app.state.engine.dispose()


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Setup]:
    folder = tmp_path_factory.mktemp("authz")
    db = folder / "world.db"
    shutil.copy(sqlite_template, db)
    yield from _make(f"sqlite:///{db}", folder / "data", db)


# --- requests ------------------------------------------------------------------------------------


def _value(token: Any, world: World, who: Principal | None) -> Any:
    if isinstance(token, list):
        return [_value(t, world, who) for t in token]
    if isinstance(token, dict):
        return {k: _value(v, world, who) for k, v in token.items()}
    if not isinstance(token, str):
        return token
    if token == "self":
        return who.user_id if who else 0
    if token == "admin-city":
        return world.principal(Role.ADMIN, "all").user_id
    site, dot, kind = token.partition(".")
    if dot and site in ("a", "b"):
        objects = world.a if site == "a" else world.b
        return objects.code if kind == "code" else objects.ids[kind]
    return token


def _url(key: str, case: Case, world: World, who: Principal | None) -> tuple[str, str]:
    method, path = key.split(" ", 1)
    # {name} anywhere in the path: /devices/{device_id}, /replacement{rest:path}, plan.{fmt}
    for param in re.findall(r"{([^}]+)}", path) + ["fmt"]:
        name = param.split(":")[0]  # {device_id:int}: the name before the convertor
        pattern = "{" + param + "}"
        if pattern in path:
            token = case.path[name] if name in case.path else PATH_KINDS[name]
            path = path.replace(pattern, str(_value(token, world, who)))
    if ".{fmt}" in key:  # e.g. /planning/plan.{fmt}
        path = path.replace("{fmt}", "csv")
    return method, path


def call(client: TestClient, key: str, case: Case, world: World, who: Principal | None) -> Any:
    method, url = _url(key, case, world, who)
    client.cookies.clear()  # only the caller's own credentials: no flash or session left by another
    headers: dict[str, str] = {}
    if who is not None:
        if is_api_path(url):
            headers["Authorization"] = f"Bearer {who.api_token}"
        else:
            headers["Cookie"] = f"ww_session={who.web_token}"
            if method not in SAFE_METHODS:
                headers["X-CSRF-Token"] = who.csrf
    kwargs: dict[str, Any] = {"params": _value(case.params, world, who), "headers": headers}
    if case.json is not None:
        kwargs["json"] = _value(case.json, world, who)
    if case.data is not None:
        kwargs["data"] = _value(case.data, world, who)
    if case.files:
        kwargs["files"] = {"file": ("p.png", PNG, "image/png")}
    if case.content is not None:
        kwargs["content"] = case.content.encode()
        headers["Content-Type"] = "text/csv"
    return client.request(method, url, follow_redirects=False, **kwargs)


def is_api_path(url: str) -> bool:
    from starlette.requests import Request

    return is_api(Request({"type": "http", "path": url.split("?")[0], "headers": [], "query_string": b""}))


def _roles(key: str) -> tuple[str, tuple[Role, ...]]:
    marks = declarations(ROUTES[key][1])
    assert len(marks) == 1, f"{key}: {marks}"
    return marks[0]


def state_digest(engine: Any) -> str:
    """A fingerprint of every lasting record (sessions, audit and throttles aside)."""
    digest = hashlib.sha256()
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            if table.name in VOLATILE_TABLES:
                continue
            rows = conn.execute(table.select()).all()
            digest.update(table.name.encode())
            for row in sorted(repr(tuple(r)) for r in rows):
                digest.update(row.encode())
    return digest.hexdigest()


def _echoed(case: Case, world: World, who: Principal | None, url: str) -> list[str]:
    """What the caller sent: an answer may repeat it ("site X is not one of yours") without revealing."""
    sent: list[str] = [seg for seg in url.split("?")[0].split("/") if seg]

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, str | int):
            sent.append(str(value))
            sent.extend(cell for line in str(value).splitlines() for cell in line.split(","))

    walk([_value(x, world, who) for x in (case.params, case.json, case.data, case.path)])
    if case.content:
        sent.extend(v for line in case.content.splitlines() for v in line.split(","))
    return sorted({s for s in sent if len(s) >= 3}, key=len, reverse=True)


_RANDOM_TOKEN = re.compile(r"[A-Za-z0-9_+/-]{16,}")


def _drop_random(match: re.Match[str]) -> str:
    """A long run with upper case, lower case and digits is a random token, never a name we seeded."""
    text = match.group(0)
    kinds = (str.isupper, str.islower, str.isdigit)
    return "" if all(any(kind(c) for c in text) for kind in kinds) else text


def _shown(answer: Any, mark: str, echoed: list[str] = ()) -> str:  # type: ignore[assignment]
    """Where the answer shows ``mark`` (what the caller sent aside), or ""."""
    # Random tokens (CSP nonces, CSRF tokens, keys) may spell the short mark by chance: drop them first.
    body = _RANDOM_TOKEN.sub(_drop_random, answer.content.decode("utf-8", "replace")).lower()
    for value in echoed:
        body = body.replace(value.lower(), "")
    at = body.find(mark.lower())
    return "" if at < 0 else body[max(0, at - 160) : at + 60]


def _shows(answer: Any, mark: str, echoed: list[str] = ()) -> bool:  # type: ignore[assignment]
    return bool(_shown(answer, mark, echoed))


def check_case(setup: Setup, key: str, case: Case) -> None:
    """Run one case for every principal (and anonymously for public routes); collect every failure."""
    world, client = setup.world, setup.client
    kind, roles = _roles(key)
    problems: list[str] = []
    before = state_digest(setup.app.state.engine) if case.kind in (*WRITES, "probe", "moved") else None
    principals: list[Principal | None] = list(world.principals)
    if kind == "public":
        principals.append(None)
    for who in principals:
        scoped = who is not None and (
            who.scope == "a" or (case.control_roles is not None and who.role not in case.control_roles)
        )
        name = who.name if who else "anonymous"
        if case.kind == "moved":
            answer = call(client, key, case, world, who)
            location = answer.headers.get("location", "")
            query = answer.request.url.query.decode() if answer.request.url.query else ""
            expected = case.to + (f"?{query}" if query else "") if case.to else None
            if answer.status_code != 308 or location != expected:
                problems.append(
                    f"{name}: got {answer.status_code} to {location!r}, expected 308 to {expected!r}"
                )
            elif _shows(answer, MARK_B, _echoed(case, world, who, str(answer.request.url))):
                problems.append(f"{name}: the redirect names site B's objects: {answer.text[:300]}")
            continue
        if kind == "roles" and who is not None and who.role not in roles:
            answer = call(client, key, case, world, who)
            if answer.status_code != 403:
                problems.append(f"{name}: role not admitted, got {answer.status_code} (expected 403)")
            continue
        if kind == "roles" and who is None:
            continue
        if case.kind in (*WRITES, "probe") and not scoped and (case.kind != "probe" or case.writes):
            continue  # unscoped writes run on a copy of the world (test_writes_reach_...)
        if case.kind == "city" and not scoped and key.startswith("GET "):
            answer = call(client, key, case, world, who)
            if answer.status_code >= 300:
                problems.append(f"{name}: city-wide read refused to an unscoped user ({answer.status_code})")
            continue
        answer = call(client, key, case, world, who)
        status = answer.status_code
        limited = scoped or (who is None and case.kind in ("obj", "list"))
        # An unscoped user outside ``control_roles`` may see site B itself, not the owner's object.
        outsider = who is not None and who.scope == "all" and case.control_roles is not None
        hidden = str(_value(case.mark, world, who)) if outsider else MARK_B
        if case.kind in ("obj", "act", "city") and limited:
            if status != case.expect:
                problems.append(f"{name}: got {status}, expected {case.expect}")
            elif _shows(answer, hidden, _echoed(case, world, who, str(answer.request.url.path))):
                problems.append(f"{name}: the refusal names site B's objects: {answer.text[:300]}")
        elif case.kind in ("list", "probe", "own") and limited or case.kind == "own":
            if status >= 500 or status in (401, 403, 404, 422):
                problems.append(f"{name}: got {status}: {answer.text[:200]}")
            elif shown := _shown(answer, hidden, _echoed(case, world, who, str(answer.request.url.path))):
                problems.append(f"{name}: the answer shows site B's objects ({hidden}): ...{shown}...")
        elif case.control and case.kind in ("obj", "list", "probe"):
            mark = _value(case.mark, world, who) if case.mark else None
            if status >= 300:
                problems.append(f"{name} (control): got {status}: {answer.text[:200]}")
            elif mark is not None and not _shows(answer, str(mark)):
                problems.append(f"{name} (control): the answer lacks {mark!r}: the case checks nothing")
    if before is not None and state_digest(setup.app.state.engine) != before:
        problems.append("a refused request changed the database")
    assert not problems, f"{key} {case}:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("key", "index", "case"),
    [c for c in CASES if c[2].run],
    ids=[f"{k}#{i}" for k, i, c in CASES if c.run],
)
def test_site_b_stays_out_of_reach(setup: Setup, key: str, index: int, case: Case) -> None:
    check_case(setup, key, case)


# --- positive controls for writes, each on a fresh copy of the world -------------------------------


@pytest.fixture(scope="module")
def scratch(setup: Setup, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    """A second app whose database is put back to the seeded world before each write."""
    assert setup.pristine is not None
    folder = tmp_path_factory.mktemp("authz-scratch")
    db = folder / "scratch.db"
    shutil.copy(setup.pristine, db)
    # No background threads: _restore swaps the database file under the app, and a scheduler or job
    # worker holding a connection across the swap reads a torn file ("disk I/O error").
    app = create_app(
        CollectorSettings(
            database_url=f"sqlite:///{db}",
            data_dir=setup.app.state.settings.data_dir,
            scheduler_enabled=False,
            job_worker=False,
        )
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Setup(app, client, setup.world, db, setup.pristine)
    app.state.engine.dispose()


def _restore(s: Setup) -> None:
    assert s.db is not None and s.pristine is not None
    s.app.state.engine.dispose()
    for suffix in ("-wal", "-shm"):
        Path(f"{s.db}{suffix}").unlink(missing_ok=True)
    shutil.copy(s.pristine, s.db)


WRITE_CASES = [c for c in CASES if c[2].run and (c[2].kind in WRITES or c[2].writes)]


@pytest.mark.parametrize(("key", "index", "case"), WRITE_CASES, ids=[f"{k}#{i}" for k, i, _c in WRITE_CASES])
def test_writes_reach_their_object_for_unscoped_users(
    scratch: Setup, key: str, index: int, case: Case
) -> None:
    _restore(scratch)
    _kind, roles = _roles(key)
    who = scratch.world.principal(roles[0], "all")
    answer = call(scratch.client, key, case, scratch.world, who)
    # Reaching the object is what counts; the change itself may still be refused for its own reasons
    # (signing off an unfinished inspection: 400), which A's users never get to learn.
    assert answer.status_code < 500 and answer.status_code not in (401, 403, 404, 405, 422), (
        f"{key} as {who.name}: {answer.status_code} {answer.text[:300]}"
    )


# --- a representative part on PostgreSQL ------------------------------------------------------------

PG_KEYS = [
    "GET /api/v1/devices",
    "GET /api/v1/devices/{device_id}",
    "GET /api/v1/findings",
    "POST /api/v1/findings/{finding_id}/accept",
    "GET /api/v1/certificates",
    "GET /api/v1/inspections/{inspection_id}/photos/{photo_id}",
    "GET /api/v1/users",
    "PUT /api/v1/users/{user_id}",
    "POST /api/v1/users/{user_id}/reset-password",
    "GET /api/v1/audit",
    "GET /api/v1/enroll-secrets",
    "POST /api/v1/enroll-secrets",
    "PUT /api/v1/planning/unit-costs",
    "POST /api/v1/planning/assets/import",
    "GET /published/{name}",
    "GET /admin/audit",
    "GET /sites/{code}",
    "GET /api/v1/identity-conflicts",
    "POST /api/v1/identity-conflicts/{claim_id}/resolve",
    "GET /api/v1/notifications/subscriptions",
    "GET /api/v1/search",
    "GET /api/v1/software",
    "GET /api/v1/vulnerabilities",
    "GET /api/v1/devices/{device_id}/history",
    "POST /api/v1/sites/merge",
]


@pytest.fixture(scope="module")
def pg_setup(pg_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    truncate_all(pg_database)  # also puts back the rows the migrations write (ranking_version)
    yield from _make(pg_database, tmp_path_factory.mktemp("authz-pg") / "data", None)


PG_CASES = [c for c in CASES if c[0] in PG_KEYS and c[2].run]


@pytest.mark.parametrize(("key", "index", "case"), PG_CASES, ids=[f"{k}#{i}" for k, i, _c in PG_CASES])
def test_site_b_stays_out_of_reach_on_postgresql(pg_setup: Setup, key: str, index: int, case: Case) -> None:
    check_case(pg_setup, key, case)


# --- what the marker cannot see: a refusal that differs only in its wording ---------------------------


def _headers(who: Principal) -> dict[str, str]:
    return {"Authorization": f"Bearer {who.api_token}"}


def test_the_asset_import_says_nothing_of_another_sites_tags(scratch: Setup) -> None:
    """Before: importing another site's asset tag answered "asset tag ... is already in use", and editing
    an asset to it named the other device; tags are now unique per site, and B's are none of A's business."""
    _restore(scratch)
    planner = scratch.world.principal(Role.PLANNER, "a")
    csv = "asset_tag\nTAG-ZQB\nTAG-NEVER-USED\n"
    preview = scratch.client.post(
        "/api/v1/planning/assets/import",
        content=csv.encode(),
        headers={**_headers(planner), "Content-Type": "text/csv"},
    )
    assert preview.status_code == 200, preview.text
    theirs, nobodys = preview.json()["rows"]
    assert (theirs["action"], theirs["message"]) == (nobodys["action"], nobodys["message"])
    # A's device may carry the same tag as B's: each commune numbers its own equipment.
    a_device = scratch.world.a.ids["device"]
    tagged = scratch.client.put(
        f"/api/v1/planning/assets/{a_device}", json={"asset_tag": "TAG-ZQB"}, headers=_headers(planner)
    )
    assert tagged.status_code == 200, tagged.text
    # Within one site a tag stays unique, and the refusal names only that site's device.
    second = scratch.client.put(
        f"/api/v1/planning/assets/{scratch.world.a.ids['netdevice']}",
        json={"asset_tag": "tag-zqb"},
        headers=_headers(planner),
    )
    assert second.status_code == 409 and "pc-zqa" in second.json()["detail"]
