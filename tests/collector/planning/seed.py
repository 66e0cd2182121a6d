"""Seed a planning test database the way production fills it: enroll agents, ingest real reports."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from collector.db import session_scope
from collector.models.core import Agent, Site, User
from collector.services.enrollment import create_enroll_secret, enroll_agent
from collector.services.ingest import ingest_report
from collector.services.sites import create_site
from collector.settings import CollectorSettings
from inventory.facts import (
    BatteryFacts,
    CpuFacts,
    DiskFacts,
    Facts,
    FilesystemFacts,
    MemoryFacts,
    OsFacts,
    SmartFacts,
    SystemFacts,
)
from inventory.health import HealthFacts
from inventory.report import CheckResult, HostIdentity, Report, Subject
from inventory.security import BootFacts, SecurityFacts, TpmFacts
from tests.helpers import PASSWORD

SMART_DIR = Path(__file__).parents[2] / "fixtures" / "planning" / "smart"
GIB = 1024**3
TODAY = date(2026, 11, 26)


def smart(name: str) -> SmartFacts:
    """SmartFacts parsed by the agent's own parser from a recorded ``smartctl --json`` output."""
    from inventory.host.smart import parse_smartctl_text

    return parse_smartctl_text((SMART_DIR / f"{name}.json").read_text(encoding="utf-8"))


def win10(**kw: Any) -> OsFacts:
    return OsFacts(
        family="windows", name="Microsoft Windows 10 Pro", version="10.0.19045", build="19045", **kw
    )


def win11() -> OsFacts:
    return OsFacts(
        family="windows",
        name="Microsoft Windows 11 Pro",
        version="10.0.26200",
        build="26200",
        display_version="25H2",
    )


def ubuntu(version: str = "24.04") -> OsFacts:
    return OsFacts(family="linux", name="Ubuntu", version=version, distro_id="ubuntu")


def modern_security() -> SecurityFacts:
    return SecurityFacts(
        tpm=TpmFacts(present=True, version="2.0"), boot=BootFacts(uefi=True, secure_boot=True)
    )


def old_security() -> SecurityFacts:
    return SecurityFacts(tpm=TpmFacts(present=False), boot=BootFacts(uefi=False, secure_boot=False))


def pc_facts(
    hostname: str,
    *,
    serial: str = "SN-1",
    chassis: str = "desktop",
    vendor: str = "Dell Inc.",
    model: str = "OptiPlex 7080",
    bios_date: date | None = date(2021, 6, 1),
    os: OsFacts | None = None,
    cpu: str = "Intel(R) Core(TM) i5-10500 CPU @ 3.10GHz",
    launch_year: int | None = 2020,
    ram_gb: float = 16,
    disk: str | None = "nvme-healthy",
    rotational: bool = False,
    free_gb: float = 200,
    batteries: list[BatteryFacts] | None = None,
    security: SecurityFacts | None = None,
    shutdowns: int | None = 0,
) -> Facts:
    return Facts(
        system=SystemFacts(
            hostname=hostname, vendor=vendor, model=model, serial=serial, chassis=chassis, bios_date=bios_date
        ),
        os=os or win11(),
        cpu=CpuFacts(model=cpu, launch_year=launch_year),
        memory=MemoryFacts(total_bytes=int(ram_gb * GIB)),
        disks=[
            DiskFacts(
                name="disk0",
                model="system disk",
                size_bytes=512 * 10**9,
                rotational=rotational,
                bus="sata" if rotational else "nvme",
                system_disk=True,
                smart=smart(disk) if disk else None,
            )
        ],
        filesystems=[
            FilesystemFacts(
                mountpoint="C:\\",
                total_bytes=476 * GIB,
                used_bytes=int((476 - free_gb) * GIB),
                free_bytes=int(free_gb * GIB),
            )
        ],
        batteries=batteries if batteries is not None else [],
        security=security or modern_security(),
        health=HealthFacts(unexpected_shutdowns=shutdowns, evidence_since=datetime(2026, 10, 1, tzinfo=UTC))
        if shutdowns is not None
        else None,
    )


def add_site(engine: Any, code: str, name: str) -> str:
    """Create the commune and an agent enrolled in it (as ``wardwatch agent enroll`` does); the agent id."""
    with session_scope(engine) as session:
        if session.exec(select(Site).where(Site.code == code)).first() is None:
            create_site(session, code=code, name=name)
        secret = create_enroll_secret(session, site_code=code)
        return enroll_agent(session, secret=secret, hostname=f"agent-{code}", version="test").agent_id


def report_for(agent_id: str, facts: Facts, *, results: list[CheckResult] | None = None) -> Report:
    assert facts.system is not None
    return Report(
        agent_id=agent_id,
        report_id=uuid.uuid4(),
        collected_at=datetime.now(UTC),
        subject=Subject(
            hostname=facts.system.hostname,
            host=HostIdentity(
                machine_id=f"mid-{facts.system.serial}",
                serial=facts.system.serial,
                mac=_mac(facts.system.serial),
            ),
        ),
        facts=facts,
        results=results or [],
    )


def _mac(serial: str | None) -> str:
    n = uuid.uuid5(uuid.NAMESPACE_DNS, serial or "x").int
    return ":".join(f"{(n >> (8 * i)) & 0xFF:02x}" for i in range(6))


def ingest(
    engine: Any, url: str, agent_id: str, facts: Facts, *, results: list[CheckResult] | None = None
) -> int:
    """Store a report through the collector's ingest service; the device id."""
    report = report_for(agent_id, facts, results=results)
    with session_scope(engine) as session:
        agent = session.get(Agent, agent_id)
        assert agent is not None
        outcome = ingest_report(
            session,
            settings=CollectorSettings(database_url=url),
            agent=agent,
            report=report,
            body=report.model_dump_json().encode(),
        )
        assert outcome.status == "accepted" and outcome.device_id is not None
    # The score and vulnerability matches the report queued, done as the collector's worker would.
    from collector.services.jobs import run_pending_jobs

    run_pending_jobs(engine, CollectorSettings(database_url=url))
    return outcome.device_id


def login(
    client: Any, engine: Any, *, username: str, role: str, sites: list[str] | None = None
) -> dict[str, str]:
    """A user and a web session for it: sets the session cookie on ``client``; returns {"csrf": token}."""
    from collector.http.deps import SESSION_COOKIE
    from collector.services.users import create_auth_session, create_user

    with session_scope(engine) as session:
        user = session.exec(select(User).where(User.username == username)).first()
        if user is None:
            user = create_user(
                session,
                username=username,
                password=PASSWORD,
                role=role,
                site_codes=sites or [],
            )
        token, row = create_auth_session(session, user, kind="web", hours=1)
        csrf = row.csrf_token or ""
    client.cookies.set(SESSION_COOKIE, token)
    return {"csrf": csrf}


def api_headers(
    client: Any, engine: Any, *, username: str, role: str, sites: list[str] | None = None
) -> dict[str, str]:
    from collector.services.users import create_user

    with session_scope(engine) as session:
        if session.exec(select(User).where(User.username == username)).first() is None:
            create_user(
                session,
                username=username,
                password=PASSWORD,
                role=role,
                site_codes=sites or [],
            )
    r = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def session(engine: Any) -> Session:
    return Session(engine)
