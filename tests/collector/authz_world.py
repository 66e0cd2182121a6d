"""One seeded world for the authorization suite: two sites, A and B, each with an object of every kind,
and a logged-in user of every role, unscoped and scoped to site A.

Everything site B owns carries the marker ``zqb`` (site code, hostnames, labels, user names...), so a
test can tell that an answer revealed B by looking for it; A's objects carry ``zqa``. The world is made
through the real paths (agent enrollment and reports over HTTP, the API for inspections, publishing,
share links, managed devices and assets), so every table is filled the way production fills it.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, select

from agent.netdevices.config import DeviceEntry
from agent.netdevices.poller import device_report
from collector.db import session_scope
from collector.models.core import AuditEvent, Role
from collector.models.findings import Finding
from collector.models.identity import IdentityConflict
from collector.models.inspections import Action, Inspection, InspectionPhoto, ShareLink
from collector.models.netdevices import NetDeviceConfig
from collector.services import vuln_data
from collector.services.quarantine import record_quarantine
from collector.services.sites import create_site
from collector.services.users import create_auth_session, create_user
from inventory.facts import OsFacts, SoftwareFacts
from inventory.netdevices.facts import ConfigAudit, DeviceInterface, NetworkDeviceFacts
from inventory.report import CheckResult, CheckStatus, Quarantine, QuarantinedReport
from tests.collector.inspections.support import PNG, answer_all
from tests.collector.support import PRINTER, SERVER, scan
from tests.collector.support import section as certificate_section
from tests.collector.vulns.support import KEV_FILE, NVD_DIR
from tests.helpers import PASSWORD, enroll, host_report, post_report
from tests.signing_pki import configure_signing

MARK_A, MARK_B = "zqa", "zqb"
WIN10 = OsFacts(
    family="windows", name="Windows 10 Pro", version="10.0.19045", build="19045.3803", display_version="22H2"
)


# A known exploited WinRAR (a vulnerability finding once the fixture data is imported), and a program of
# the site's own that no product map knows (the unmapped-software list) and only its devices have.
def _software(mark: str) -> list[SoftwareFacts]:
    return [
        SoftwareFacts(
            name="WinRAR 6.22 (64-bit)", version="6.22.0", vendor="win.rar GmbH", source="registry"
        ),
        SoftwareFacts(
            name=f"Ketoan {mark} 2024", version="2024.1", vendor=f"Vendor {mark}", source="registry"
        ),
    ]


ROLES = tuple(Role)
SCOPES = ("all", "a")  # unscoped, scoped to site A


@dataclass
class SiteObjects:
    """The ids of one site's objects, by kind."""

    code: str
    ids: dict[str, Any] = field(default_factory=dict)


@dataclass
class Principal:
    role: Role
    scope: str  # "all" or "a"
    username: str
    user_id: int
    api_token: str
    web_token: str
    csrf: str

    @property
    def name(self) -> str:
        return f"{self.role.value}/{self.scope}"


@dataclass
class World:
    a: SiteObjects
    b: SiteObjects
    principals: list[Principal]

    def principal(self, role: Role, scope: str) -> Principal:
        return next(p for p in self.principals if p.role == role and p.scope == scope)


def _config(name: str, extra: str = "") -> str:
    interface = "interface GigabitEthernet0/1\n ip address 192.168.10.1 255.255.255.0\n"
    return f"hostname {name}\n!\n{interface}!{extra}\nend\n"


def _network_report(agent_id: str, site: str, name: str, config: str) -> Any:
    entry = DeviceEntry(
        name=name, host="192.168.10.1", platform="cisco_ios", site=site, username="ww", password_env="X"
    )
    facts = NetworkDeviceFacts(
        name=name,
        platform="cisco_ios",
        hostname=name,
        vendor="Cisco",
        model="C9200L-24P-4G",
        os_version="17.9.4a",
        serial_number=f"JAE-{name}",
        uptime=86400,
        interface_list=["GigabitEthernet0/1"],
        interfaces=[DeviceInterface(name="GigabitEthernet0/1", enabled=True, up=True, ipv4=["192.168.10.1"])],
        config=config,
        config_hash=hashlib.sha256(config.encode()).hexdigest(),
        audit=ConfigAudit(telnet_enabled=True, ntp_servers=[], syslog_hosts=[]),
    )
    return device_report(entry, facts, agent_id=agent_id)


def _seed_site(client: Any, engine: Any, admin: dict[str, str], mark: str) -> SiteObjects:
    code = f"{mark.upper()}-SITE"
    with session_scope(engine) as s:
        create_site(s, code=code, name=f"Phường {mark}")
    site = SiteObjects(code=code)
    made = client.post(
        "/api/v1/enroll-secrets", json={"site": code, "label": f"secret-{mark}"}, headers=admin
    )
    assert made.status_code == 201, made.text
    secret = made.json()["secret"]
    listed = client.get("/api/v1/enroll-secrets", headers=admin).json()
    site.ids["secret"] = next(r["id"] for r in listed if r["label"] == f"secret-{mark}")

    agent = enroll(client, secret, hostname=f"agent-{mark}")
    site.ids["agent"] = agent.agent_id
    results = [
        CheckResult(check_id="host.firewall.enabled", status=CheckStatus.FAIL, evidence=f"off at {mark}"),
        CheckResult(check_id="host.antivirus.present", status=CheckStatus.PASS),
    ]
    host = host_report(
        agent.agent_id,
        hostname=f"pc-{mark}",
        machine_id=f"mid-{mark}",
        serial=f"SN-{mark.upper()}",
        mac="00:11:22:33:44:" + ("aa" if mark == MARK_A else "bb"),
        results=results,
        certificates=certificate_section(),
        network_scan=scan([SERVER, PRINTER], datetime.now(UTC)),
        os=WIN10,
        software=_software(mark),
    )
    # First without the site's own program, then with it: a change in the device's history.
    first = host.model_copy(
        update={
            "report_id": uuid.uuid4(),
            "facts": host.facts.model_copy(update={"software": _software(mark)[:1]}),
        }
    )
    assert post_report(client, agent, first).status_code == 202
    r = post_report(client, agent, host)
    assert r.status_code == 202, r.text
    site.ids["device"] = r.json()["device_id"]
    site.ids["report"] = str(host.report_id)
    # The reports that PC's agent could not deliver, as its heartbeat told them.
    with session_scope(engine) as s:
        note = Quarantine(
            count=1,
            recent=[
                QuarantinedReport(
                    reason=f"refused for good: quarantined-{mark}", quarantined_at=datetime.now(UTC)
                )
            ],
        )
        record_quarantine(s, device_id=site.ids["device"], note=note, reported_at=datetime.now(UTC))

    # A second agent of the same site on that PC: an identity conflict within the site.
    second = enroll(client, secret, hostname=f"agent2-{mark}")
    twin = host_report(
        second.agent_id,
        hostname=f"pc-{mark}-twin",
        machine_id=f"mid-{mark}",
        serial=f"SN-{mark.upper()}",
        mac="00:11:22:33:44:" + ("aa" if mark == MARK_A else "bb"),
    )
    r = post_report(client, second, twin)
    assert r.status_code == 202, r.text
    with Session(engine) as s:
        site.ids["claim"] = s.exec(
            select(IdentityConflict.id).where(IdentityConflict.device_id == site.ids["device"])
        ).first()

    for config in (_config(f"router-{mark}"), _config(f"router-{mark}", "\nlogging host 10.0.0.9\n!")):
        r = post_report(client, agent, _network_report(agent.agent_id, code, f"router-{mark}", config))
        assert r.status_code == 202, r.text
        site.ids["netdevice"] = r.json()["device_id"]

    managed = client.post(
        "/api/v1/netdevices",
        json={"site": code, "name": f"managed-{mark}", "host": "192.168.10.2", "username": "ww"},
        headers=admin,
    )
    assert managed.status_code == 201, managed.text
    site.ids["managed"] = managed.json()["id"]

    asset = client.put(
        f"/api/v1/planning/assets/{site.ids['device']}",
        json={
            "asset_tag": f"TAG-{mark.upper()}",
            "supplier": f"supplier-{mark}",
            "status": "to_replace",  # a must-replace candidate: every plan lists it
            "purchase_date": "2012-03-01",
        },
        headers=admin,
    )
    assert asset.status_code == 200, asset.text

    def inspection() -> dict[str, Any]:
        r = client.post("/api/v1/inspections", json={"site": code, "team": f"team-{mark}"}, headers=admin)
        assert r.status_code == 201, r.text
        return r.json()

    done = inspection()
    answer_all(client, admin, done, fail={"offline_backup"})
    r = client.post(
        f"/api/v1/inspections/{done['id']}/signoff", json={"signature_name": "Lê Văn A"}, headers=admin
    )
    assert r.status_code == 200, r.text
    r = client.post(f"/api/v1/inspections/{done['id']}/publish", json={"public": False}, headers=admin)
    assert r.status_code == 201, r.text
    site.ids["published_inspection"] = done["id"]
    site.ids["slug"] = r.json()["slug"]
    shared = client.post(f"/api/v1/published/{site.ids['slug']}/share-links", headers=admin)
    assert shared.status_code == 201, shared.text
    site.ids["share_link"] = shared.json()["id"]
    site.ids["share_token"] = shared.json()["token"]

    signed = inspection()
    answer_all(client, admin, signed, fail={"offline_backup"})
    r = client.post(
        f"/api/v1/inspections/{signed['id']}/signoff", json={"signature_name": "Lê Văn A"}, headers=admin
    )
    assert r.status_code == 200, r.text
    site.ids["signed_inspection"] = signed["id"]

    open_insp = inspection()
    site.ids["inspection"] = open_insp["id"]
    item = next(
        i["id"] for s in open_insp["template"]["sections"] for i in s["items"] if i["type"] == "pass_fail"
    )
    site.ids["item"] = item
    photo = client.post(
        f"/api/v1/inspections/{open_insp['id']}/photos",
        data={"item_id": item},
        files={"file": ("p.png", PNG, "image/png")},
        headers=admin,
    )
    assert photo.status_code == 201, photo.text
    site.ids["photo"] = photo.json()["id"]

    action_id = done_actions(engine, site.ids["published_inspection"])
    r = client.patch(f"/api/v1/actions/{action_id}", json={"owner": f"owner-{mark}"}, headers=admin)
    assert r.status_code == 200, r.text

    with session_scope(engine) as s:
        user = create_user(s, username=f"user-{mark}", password=PASSWORD, role="viewer", site_codes=[code])
        site.ids["user"] = user.id
    with Session(engine) as s:
        site.ids["finding"] = s.exec(
            select(Finding.id).where(
                Finding.device_id == site.ids["device"], Finding.check_id == "host.firewall.enabled"
            )
        ).first()
        site.ids["action"] = s.exec(
            select(Action.id).where(Action.inspection_id == site.ids["published_inspection"])
        ).first()
        versions = s.exec(
            select(NetDeviceConfig.id)
            .where(NetDeviceConfig.device_id == site.ids["netdevice"])
            .order_by(NetDeviceConfig.id)
        ).all()
        site.ids["version"], site.ids["version2"] = versions[0], versions[-1]
        site.ids["audit"] = s.exec(
            select(AuditEvent.id).where(
                AuditEvent.action == "enroll_secret.create", AuditEvent.target == code
            )
        ).first()
        assert s.get(InspectionPhoto, site.ids["photo"]) is not None
        assert s.exec(select(ShareLink).where(ShareLink.id == site.ids["share_link"])).first() is not None
    assert all(v is not None for v in site.ids.values()), site.ids
    return site


def done_actions(engine: Any, inspection_id: int) -> int:
    with Session(engine) as s:
        found = s.exec(select(Action.id).where(Action.inspection_id == inspection_id)).first()
    assert found is not None, "the signed-off inspection made no action"
    return found


def build_world(client: Any, engine: Any) -> World:
    principals: list[Principal] = []
    # Publishing signs with the organisation's certificate; vulnerability data makes findings of WinRAR.
    configure_signing(engine, client.app.state.settings.data_dir)
    with session_scope(engine) as s:
        vuln_data.import_paths(s, paths=[NVD_DIR, KEV_FILE])
    with session_scope(engine) as s:
        create_user(s, username="seed-admin", password=PASSWORD, role="admin")
    seed = client.post("/api/v1/auth/token", data={"username": "seed-admin", "password": PASSWORD})
    admin = {"Authorization": f"Bearer {seed.json()['access_token']}"}
    a = _seed_site(client, engine, admin, MARK_A)
    b = _seed_site(client, engine, admin, MARK_B)
    with session_scope(engine) as s:
        for role in ROLES:
            for scope in SCOPES:
                username = f"{role.value}-{'city' if scope == 'all' else 'sitea'}"
                user = create_user(
                    s,
                    username=username,
                    password=PASSWORD,
                    role=role,
                    site_codes=[] if scope == "all" else [a.code],
                )
                api, _row = create_auth_session(s, user, kind="api", hours=12)
                web, row = create_auth_session(s, user, kind="web", hours=12)
                principals.append(
                    Principal(role, scope, username, user.id or 0, api, web, row.csrf_token or "")
                )
    world = World(a=a, b=b, principals=principals)
    # The city's inspector leads the signed inspections: they and administrators may publish them.
    with session_scope(engine) as s:
        for site in (a, b):
            signed = s.get(Inspection, site.ids["signed_inspection"])
            assert signed is not None
            signed.lead_username = world.principal(Role.INSPECTOR, "all").username
            s.add(signed)
    # A city administrator's subscription to site B's events: only its owner (and administrators of
    # site B) may see or change it.
    city_admin = world.principal(Role.ADMIN, "all")
    made = client.post(
        "/api/v1/notifications/subscriptions",
        json={"event": "finding.opened", "channel": "email", "target": "ops-zqb@example.org", "site": b.code},
        headers={"Authorization": f"Bearer {city_admin.api_token}"},
    )
    assert made.status_code == 201, made.text
    b.ids["subscription"] = made.json()["id"]
    return world
