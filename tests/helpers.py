"""Helpers shared by tests: seed a site, enroll an agent, build and post real reports."""

from __future__ import annotations

import gzip
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from inventory.facts import Facts, MemoryFacts, OsFacts, SystemFacts
from inventory.report import CheckResult, CheckStatus, HostIdentity, Report, ReportKind, Subject

# One password for test users: long enough, no username in it, not a common password (the rule of
# collector/services/passwords.py). Tests that need a refused password spell it out themselves.
PASSWORD = "vq8-Kestrel-mwz-4417"


@dataclass
class EnrolledAgent:
    agent_id: str
    key: str
    site: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def seed_site(engine: Any, code: str = "P01", name: str = "Phường Bến Nghé") -> str:
    """Create a site and return a fresh enroll secret for it."""
    from sqlmodel import select

    from collector.db import session_scope
    from collector.models.core import Site
    from collector.services.enrollment import create_enroll_secret
    from collector.services.sites import create_site

    with session_scope(engine) as session:
        if session.exec(select(Site).where(Site.code == code)).first() is None:
            create_site(session, code=code, name=name)
        return create_enroll_secret(session, site_code=code)


def enroll(client: Any, secret: str, hostname: str = "pc-01") -> EnrolledAgent:
    r = client.post("/api/v1/agents/enroll", json={"secret": secret, "hostname": hostname})
    assert r.status_code == 201, r.text
    body = r.json()
    return EnrolledAgent(body["agent_id"], body["agent_key"], body["site"])


def host_report(
    agent_id: str,
    *,
    hostname: str = "pc-01",
    machine_id: str = "mid-1",
    serial: str = "SN-1",
    mac: str = "00:11:22:33:44:55",
    memory: int = 8 * 2**30,
    results: list[CheckResult] | None = None,
    kind: ReportKind = ReportKind.FULL,
    **facts: Any,
) -> Report:
    base = Facts(
        system=SystemFacts(hostname=hostname, vendor="Dell Inc.", model="OptiPlex 3020", serial=serial),
        os=OsFacts(family="linux", name="Ubuntu", version="22.04"),
        memory=MemoryFacts(total_bytes=memory),
    )
    merged = base.model_copy(update=facts)
    return Report(
        agent_id=agent_id,
        report_id=uuid.uuid4(),
        collected_at=datetime.now(UTC),
        kind=kind,
        subject=Subject(hostname=hostname, host=HostIdentity(machine_id=machine_id, serial=serial, mac=mac)),
        facts=merged,
        results=results or [],
    )


def post_report(client: Any, agent: EnrolledAgent, report: Report, *, gzipped: bool = True) -> Any:
    body = report.model_dump_json().encode()
    headers = {**agent.headers, "Content-Type": "application/json"}
    if gzipped:
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    answer = client.post("/api/v1/reports", content=body, headers=headers)
    drain_jobs(client)
    return answer


def drain_jobs(client: Any) -> int:
    """Do the derived work the reports queued (scores, vulnerability matches), as the worker would."""
    from collector.services.jobs import run_pending_jobs

    app = getattr(client, "app", None)
    if app is None or not hasattr(app, "state"):
        return 0  # a real server over HTTP: its own worker does the work
    return run_pending_jobs(app.state.engine, app.state.settings)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def user_token(
    client: Any,
    engine: Any,
    *,
    username: str = "tech",
    role: str = "technician",
    sites: list[str] | None = None,
    password: str = PASSWORD,
) -> dict[str, str]:
    """Create a user and return bearer headers for it."""
    from collector.db import session_scope
    from collector.services.users import create_user

    with session_scope(engine) as session:
        create_user(session, username=username, password=password, role=role, site_codes=sites or [])
    r = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def largest_report(
    agent_id: str, settings: Any, *, hostname: str = "pc-big", serial: str = "SN-BIG"
) -> Report:
    """A report at the per-report bounds: every result and software entry ``settings`` allows."""
    from inventory.facts import SoftwareFacts

    results = [
        CheckResult(
            check_id="host.disk.free_space",
            status=CheckStatus.FAIL if i % 3 == 0 else CheckStatus.PASS,
            evidence=f"volume {i}: 97% used",
            target=f"/mnt/v{i:05d}",
            observed={"used_percent": 97, "volume": f"/mnt/v{i:05d}"},
        )
        for i in range(settings.report_max_results)
    ]
    software = [
        SoftwareFacts(name=f"package-{i:05d}", version=f"1.{i % 97}.{i % 13}", vendor="Debian", source="dpkg")
        for i in range(settings.report_max_software)
    ]
    return host_report(
        agent_id,
        hostname=hostname,
        machine_id=f"mid-{serial}",
        serial=serial,
        results=results,
        software=software,
    )


class LiveServer:
    """``app`` served by uvicorn in a thread on a free port of 127.0.0.1 (``with LiveServer(app) as url``)."""

    def __init__(self, app: Any) -> None:
        import threading

        import uvicorn

        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        import time

        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert self.thread.is_alive(), "uvicorn stopped while starting"
            assert time.monotonic() < deadline, "uvicorn did not start within 20 s"
            time.sleep(0.02)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


# Rows a migration writes and the app expects to find: put back after emptying. ``ranking_version``'s row
# comes back with a new xmin, so no plan totals cached in this process under the old row can match it.
SEEDED_BY_MIGRATIONS = {
    "ranking_version": "INSERT INTO ranking_version (id, n) VALUES (1, 0) ON CONFLICT (id) DO NOTHING"
}


def truncate_all(url: str) -> None:
    """Empty every table of the session's PostgreSQL database and restart its sequences (ids from 1).

    Only the tables that hold rows are emptied, with DELETE and foreign-key triggers off (a superuser's
    ``session_replication_role = replica``): TRUNCATE of all 54 tables cost 1-3 s per test on a busy
    machine (a new file per table and index), this costs well under 0.1 s. Without the superuser
    right, TRUNCATE ... CASCADE of the tables that hold rows."""
    from sqlalchemy import create_engine, text

    from collector.models import metadata

    tables = metadata.sorted_tables
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            probe = " UNION ALL ".join(
                f'SELECT {i} FROM (SELECT 1 FROM "{t.name}" LIMIT 1) AS t{i}' for i, t in enumerate(tables)
            )
            rows = [tables[i].name for (i,) in conn.execute(text(probe))]
            is_superuser = text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            superuser = conn.execute(is_superuser).scalar()
            if rows and superuser:
                conn.execute(text("SET LOCAL session_replication_role = replica"))
                for name in rows:
                    conn.execute(text(f'DELETE FROM "{name}"'))
            elif rows:
                quoted = ", ".join(f'"{name}"' for name in rows)
                conn.execute(text(f"TRUNCATE {quoted} CASCADE"))
            # Put back what the migrations write, also where another fixture emptied it.
            for insert in SEEDED_BY_MIGRATIONS.values():
                conn.execute(text(insert))
            used = text("SELECT schemaname, sequencename FROM pg_sequences WHERE last_value IS NOT NULL")
            for schema, sequence in conn.execute(used).all():
                conn.execute(text(f"""SELECT setval('"{schema}"."{sequence}"', 1, false)"""))
    finally:
        engine.dispose()
