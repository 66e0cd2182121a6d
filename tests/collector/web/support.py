"""What the web console tests share: a seeded collector (devices arrive as real reports from enrolled
agents), that collector served by uvicorn on a free port, logins, screenshots. Fixtures are in conftest.py."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from collector.db import session_scope
from collector.services import vuln_data, vulns
from tests.helpers import PASSWORD, free_port

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
XSS_HOST = '<script>alert("host")</script>pc'
XSS_SOFTWARE = '<img src=x onerror="alert(1)">Evil Suite'
XSS_USER = '<b onmouseover="alert(2)">mallory</b>'


def report_body(
    agent_id: str,
    hostname: str,
    *,
    machine_id: str,
    serial: str,
    mac: str,
    software: list[dict[str, Any]] | None = None,
    results: list[dict[str, Any]] | None = None,
    battery: bool = False,
) -> dict[str, Any]:
    """A full host report as an agent sends it (validated by the wire contract before sending)."""
    from inventory.report import Report

    facts: dict[str, Any] = {
        "system": {
            "hostname": hostname,
            "vendor": "Dell Inc.",
            "model": "OptiPlex 3050",
            "serial": serial,
            "chassis": "laptop" if battery else "desktop",
            "bios_vendor": "Dell Inc.",
            "bios_version": "1.2.3",
            "bios_date": "2017-03-15",
            "machine_id": machine_id,
        },
        "os": {
            "family": "windows",
            "name": "Windows 10 Pro",
            "version": "22H2",
            "build": "19045",
            "architecture": "x86_64",
            "install_date": "2019-04-02T08:00:00+00:00",
            "boot_time": "2026-01-05T01:30:00+00:00",
        },
        "cpu": {"model": "Intel(R) Core(TM) i5-7500 CPU @ 3.40GHz", "physical_cores": 4, "threads": 4},
        "memory": {"total_bytes": 8 * 1024**3, "available_bytes": 3 * 1024**3},
        "disks": [
            {
                "name": "PhysicalDrive0",
                "model": "ST1000DM010-2EP102",
                "size_bytes": 1000204886016,
                "rotational": True,
                "bus": "sata",
                "system_disk": True,
                "smart": {"passed": True, "power_on_hours": 23110, "attributes": []},
            }
        ],
        "filesystems": [
            {
                "mountpoint": "C:\\",
                "fstype": "NTFS",
                "total_bytes": 500 * 1024**3,
                "used_bytes": 470 * 1024**3,
                "free_bytes": 30 * 1024**3,
            }
        ],
        "network_interfaces": [
            {"name": "Ethernet", "mac": mac, "ipv4": ["192.168.1.20/24"], "speed_mbps": 1000, "up": True}
        ],
        "software": software
        if software is not None
        else [
            {"name": "Google Chrome", "version": "120.0.6099.130", "vendor": "Google LLC"},
            {"name": "Vietkey 2000", "version": "2000", "vendor": "Vietkey"},
            {"name": "Microsoft Office Professional Plus 2016", "version": "16.0", "vendor": "Microsoft"},
            {"name": "UniKey", "version": "4.3", "vendor": "UniKey", "install_date": "2021-06-01"},
        ],
    }
    if battery:
        facts["batteries"] = [
            {
                "name": "BAT0",
                "manufacturer": "SMP",
                "design_capacity_wh": 42.0,
                "full_charge_capacity_wh": 18.5,
                "cycle_count": 812,
            }
        ]
    body = {
        "agent_id": agent_id,
        "agent_version": "0.1.0",
        "collected_at": datetime.now(UTC).isoformat(),
        "kind": "full",
        "subject": {
            "kind": "host",
            "hostname": hostname,
            "host": {"machine_id": machine_id, "serial": serial, "mac": mac},
        },
        "facts": facts,
        "results": results
        if results is not None
        else [
            {"check_id": "host.firewall.enabled", "status": "fail", "evidence": "Domain profile is off"},
            {"check_id": "host.os.supported", "status": "pass", "evidence": "Windows 10 22H2"},
        ],
    }
    return Report.model_validate(body).model_dump(mode="json")


@dataclass
class Seeded:
    """What the seed created: site codes, device ids by hostname, usernames."""

    sites: dict[str, str] = field(default_factory=dict)  # key -> code
    devices: dict[str, int] = field(default_factory=dict)  # hostname -> id
    agents: dict[str, str] = field(default_factory=dict)  # hostname -> agent id


def enroll(http: Any, secret: str, hostname: str) -> tuple[str, str]:
    answer = http.post("/api/v1/agents/enroll", json={"secret": secret, "hostname": hostname})
    assert answer.status_code == 201, answer.text
    data = answer.json()
    return data["agent_id"], data["agent_key"]


def send_report(http: Any, key: str, body: dict[str, Any]) -> int:
    answer = http.post("/api/v1/reports", json=body, headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 202, answer.text
    return int(answer.json()["device_id"])


def seed(engine: Any, http: Any) -> Seeded:
    """Two sites with users of every role, and devices that arrive as reports from enrolled agents."""
    from collector.db import session_scope
    from collector.services.enrollment import create_enroll_secret
    from collector.services.sites import create_site
    from collector.services.users import create_user

    out = Seeded(sites={"a": "PX-PHUCXA", "b": "XA-DONGANH"})
    with session_scope(engine) as s:
        create_site(s, code="PX-PHUCXA", name="Phường Phúc Xá", group="Cụm Ba Đình")
        create_site(s, code="XA-DONGANH", name="Xã Đông Anh", group="Cụm phía Bắc")
        create_user(s, username="admin", password=PASSWORD, role="admin", full_name="Nguyễn Văn Quản")
        create_user(s, username="tech", password=PASSWORD, role="technician")
        create_user(s, username="planner", password=PASSWORD, role="planner")
        create_user(s, username="viewer-a", password=PASSWORD, role="viewer", site_codes=["PX-PHUCXA"])
        create_user(s, username=XSS_USER, password=PASSWORD, role="viewer")
        secret_a = create_enroll_secret(s, site_code="PX-PHUCXA", created_by="admin", label="phòng một cửa")
        secret_b = create_enroll_secret(s, site_code="XA-DONGANH", created_by="admin")

    def device(secret: str, hostname: str, **kw: Any) -> None:
        agent_id, key = enroll(http, secret, hostname)
        out.agents[hostname] = agent_id
        out.devices[hostname] = send_report(http, key, report_body(agent_id, hostname, **kw))

    device(secret_a, "pc-motcua-01", machine_id="m-0001", serial="SN0001", mac="00:11:22:33:44:01")
    device(secret_a, "laptop-chutich", machine_id="m-02", serial="SN2", mac="00:11:22:33:44:02", battery=True)
    device(
        secret_a,
        XSS_HOST,
        machine_id="m-0003",
        serial="SN0003",
        mac="00:11:22:33:44:03",
        software=[{"name": XSS_SOFTWARE, "version": "<i>1.0</i>", "vendor": "<u>ACME</u>"}],
    )
    device(secret_b, "pc-xa-01", machine_id="m-0100", serial="SN0100", mac="00:11:22:33:44:10")
    # Installed from the same disk image as pc-xa-01: same machine id, its own serial and MAC.
    device(secret_b, "pc-xa-02", machine_id="m-0100", serial="SN0101", mac="00:11:22:33:44:11")
    # Enrolled, never reported: stale.
    out.agents["pc-silent"] = enroll(http, secret_b, "pc-silent")[0]
    # Scores, vulnerability matches and snapshots the reports queued, done before any page is read.
    from collector.services.jobs import run_pending_jobs

    run_pending_jobs(engine)
    return out


def make_app(db_path: Path) -> Any:
    from collector.app import create_app
    from collector.settings import CollectorSettings

    settings = CollectorSettings(database_url=f"sqlite:///{db_path}", data_dir=db_path.parent / "data")
    return create_app(settings)


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def login(http: Any, username: str, password: str = PASSWORD) -> Any:
    """Log a TestClient in through the login form (with its pre-session CSRF token)."""
    token = csrf_from(http.get("/login").text)
    return http.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )


@dataclass
class LiveServer:
    url: str
    seeded: Seeded
    engine: Any


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """``app`` served by uvicorn in a thread on a free port, until the block ends; yields its URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped while starting"
        assert time.monotonic() < deadline, "uvicorn did not start within 20 s"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.engine.dispose()


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def shot(page: Any, name: str, *, full_page: bool = True) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def expire_sessions(engine: Any) -> None:
    """Move every web session's expiry into the past (what time does to a forgotten tab)."""
    from sqlmodel import Session, select

    from collector.models.core import AuthSession

    with Session(engine) as s:
        for row in s.exec(select(AuthSession)).all():
            row.expires_at = datetime.now(UTC) - timedelta(minutes=1)
            s.add(row)
        s.commit()


def changed_pc(http: Any, engine: Any) -> int:
    """A PC of PX-PHUCXA that lost half its memory and got UltraViewer between two reports."""
    from collector.db import session_scope
    from collector.services.enrollment import create_enroll_secret

    with session_scope(engine) as s:
        secret = create_enroll_secret(s, site_code="PX-PHUCXA")
    agent_id, key = enroll(http, secret, "pc-ketoan")
    first = report_body(agent_id, "pc-ketoan", machine_id="m-kt", serial="SNKT", mac="00:11:22:33:44:99")
    device_id = send_report(http, key, first)
    second = report_body(agent_id, "pc-ketoan", machine_id="m-kt", serial="SNKT", mac="00:11:22:33:44:99")
    second["facts"]["memory"]["total_bytes"] = 4 * 1024**3
    second["facts"]["software"].append({"name": "UltraViewer", "version": "6.6.50", "vendor": "DucFabulous"})
    send_report(http, key, second)
    return device_id


VULN = Path(__file__).resolve().parents[2] / "fixtures" / "vuln"


def seed_every_kind(app: Any, url: str) -> tuple[Any, list[str]]:
    """Data of every kind on a running collector: devices, findings, vulnerabilities, inspections (one
    published and signed, one waiting, one being filled in), a subscription, a share link, a polled router.
    Returns the seed and the pages no link leads to. (The pseudo-locale crawl seeds the same way.)"""
    from tests.collector.inspections.support import answer_all, create
    from tests.signing_pki import configure_signing

    # Publishing renders and signs a PDF: longer than httpx's 5 s on a loaded machine.
    with httpx.Client(base_url=url, timeout=120) as http:
        seeded = seed(app.state.engine, http)
        # Vulnerability data: the seeded PCs' programs have known vulnerabilities (the CVE pages).
        with session_scope(app.state.engine) as session:
            vuln_data.import_paths(session, paths=[VULN / "nvd", VULN / "kev"])
            vulns.evaluate_devices(session, due_days=app.state.settings.due_days)
        token = http.post("/api/v1/auth/token", data={"username": "admin", "password": PASSWORD}).json()
        admin = {"Authorization": f"Bearer {token['access_token']}"}
        insp = create(http, admin, site="PX-PHUCXA")
        answer_all(http, admin, insp, fail={"offline_backup"})
        assert (
            http.post(
                f"/api/v1/inspections/{insp['id']}/signoff",
                json={"signature_name": "Nguyễn Văn Quản"},
                headers=admin,
            ).status_code
            == 200
        )
        configure_signing(app.state.engine, app.state.settings.data_dir)
        pre = http.get(f"/api/v1/inspections/{insp['id']}/publication-preview", headers=admin).json()
        body = {"public": True, "previewed": pre["digest"]}
        assert (
            http.post(f"/api/v1/inspections/{insp['id']}/publish", json=body, headers=admin).status_code
            == 201
        )
        # One signed off and waiting to be published (its preview page).
        waiting = create(http, admin, site="PX-PHUCXA")
        answer_all(http, admin, waiting, fail={"offline_backup"})
        assert (
            http.post(
                f"/api/v1/inspections/{waiting['id']}/signoff",
                json={"signature_name": "Nguyễn Văn Quản"},
                headers=admin,
            ).status_code
            == 200
        )
        create(http, admin, site="XA-DONGANH")  # one still being filled in
        # A subscription, so its delivery-log page has something to show.
        subscription = {"event": "finding.opened", "channel": "email", "target": "it@phucxa.example"}
        assert (
            http.post("/api/v1/notifications/subscriptions", json=subscription, headers=admin).status_code
            == 201
        )
        slug = http.get("/api/v1/published", headers=admin).json()[0]["slug"]
        share = http.post(f"/api/v1/published/{slug}/share-links", headers=admin).json()["url"]
        # A polled router with two configuration versions (history and diff pages).
        from tests.collector.support import BASE_CONFIG, netdev_report
        from tests.helpers import enroll, post_report, seed_site

        # The poller belongs to the site its device list names.
        poller = enroll(http, seed_site(app.state.engine, "P01"), "poller-pc")
        for config in (BASE_CONFIG, BASE_CONFIG + "!\n"):
            answer = post_report(http, poller, netdev_report(poller.agent_id, config))
            assert answer.status_code == 202
    router = answer.json()["device_id"]
    extra = [
        share,
        f"/inspections/{waiting['id']}/publish?public=on",
        f"/devices/{router}",
        f"/devices/{seeded.devices['pc-motcua-01']}/software?q=uni",
    ]
    return seeded, extra
