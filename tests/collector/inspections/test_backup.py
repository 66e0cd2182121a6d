"""Backup and restore, on SQLite (online backup API, collector running) and PostgreSQL (pg_dump and
pg_restore): after a restore users log in, agents keep delivering, findings and plans are the same,
old publications still verify, and the keys (publishing, device passwords, agent CA) came back."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from collector import agent_ca
from collector.app import create_app
from collector.settings import CollectorSettings
from tests.collector.inspections.support import publish, verify_with_cli
from tests.collector.support import CommandRun, ww
from tests.helpers import PASSWORD, enroll, host_report, post_report, seed_site

PASSPHRASE = "mật khẩu sao lưu dài 2026"


def _cli(*args: str, passphrase: str = PASSPHRASE) -> CommandRun:
    """``wardwatch ARGS`` in this process (tests.collector.support.ww), given the passphrase."""
    return ww(*args, env={"WARDWATCH_BACKUP_PASSPHRASE": passphrase, "WARDWATCH_DATABASE_URL": None})


@pytest.fixture
def restore_url(database_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Where the backup is restored: a new SQLite file, or a new PostgreSQL database."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored' / 'wardwatch.db'}"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"ww_restore_{uuid.uuid4().hex[:10]}"
    admin = create_engine(make_url(database_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _state(client: TestClient, headers: dict[str, str]) -> dict[str, object]:
    findings = client.get("/api/v1/findings", headers=headers).json()
    plan = client.get("/api/v1/planning/plan", params={"budget": 50_000_000}, headers=headers).json()
    plan.pop("generated_at")
    published = client.get("/api/v1/published", headers=headers).json()
    return {"findings": findings, "plan": plan, "published": published}


def test_backup_and_restore_round_trip(client, seeded, app, settings, restore_url, tmp_path):  # type: ignore[no-untyped-def]
    engine = app.state.engine
    secret = seed_site(engine, "P03", "Phường Cửa Nam")
    agent = enroll(client, secret, "pc-backup")
    assert (
        post_report(
            client, agent, host_report(agent.agent_id, hostname="pc-backup", machine_id="mb")
        ).status_code
        == 202
    )
    pub = publish(client, seeded)
    body = {"site": "P01", "name": "sw-core", "host": "192.168.1.2", "platform": "cisco_ios",
            "username": "ww", "password": "Sw1tch-Pa55"}  # fmt: skip
    assert client.post("/api/v1/netdevices", json=body, headers=seeded.admin).status_code == 201
    ca_pem = agent_ca.load_or_create(settings.data_dir).cert_pem()
    before = _state(client, seeded.admin)
    signed = (client.get(pub["json"]).content, client.get(pub["signature"]).content)

    # Online: the collector (this app) is still open while the backup is taken.
    out = tmp_path / "wardwatch.backup"
    done = _cli(
        "backup",
        "--output",
        str(out),
        "--database-url",
        settings.database_url,
        "--data-dir",
        str(settings.data_dir),
    )
    assert done.returncode == 0, done.stderr
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    raw = out.read_bytes()
    assert b"BEGIN PRIVATE KEY" not in raw and b"Sw1tch" not in raw and b"pc-backup" not in raw

    restored_dir = tmp_path / "restored"
    wrong = _cli(
        "restore",
        str(out),
        "--database-url",
        restore_url,
        "--data-dir",
        str(restored_dir),
        passphrase="not the passphrase",
    )
    assert wrong.returncode == 2 and "wrong passphrase" in wrong.stderr
    damaged = tmp_path / "damaged.backup"
    damaged.write_bytes(raw[:-100])
    cut = _cli("restore", str(damaged), "--database-url", restore_url, "--data-dir", str(restored_dir))
    assert cut.returncode == 2 and ("cut short" in cut.stderr or "changed" in cut.stderr)

    done = _cli("restore", str(out), "--database-url", restore_url, "--data-dir", str(restored_dir))
    assert done.returncode == 0, done.stderr

    app2 = create_app(CollectorSettings(database_url=restore_url, data_dir=restored_dir))
    try:
        with TestClient(app2) as c2:
            login = c2.post("/api/v1/auth/token", data={"username": "admin1", "password": PASSWORD})
            assert login.status_code == 200, login.text
            admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
            assert _state(c2, admin) == before
            # The agent keeps delivering with the key it had.
            again = host_report(agent.agent_id, hostname="pc-backup", machine_id="mb")
            assert post_report(c2, agent, again).status_code == 202
            # The old publication is served unchanged and verifies with the restored keys.
            assert (c2.get(pub["json"]).content, c2.get(pub["signature"]).content) == signed
            keyring = c2.get("/.well-known/wardwatch-publishing-keys.pem").content
            ok = verify_with_cli(tmp_path / "v", "r.json", *signed, keyring, "wardwatch-publishing-keys.pem")
            assert ok.returncode == 0, ok.stderr
            assert c2.get("/api/v1/agents/ca.pem").content == ca_pem
            from sqlmodel import Session, select

            from collector.models.netdevices import ManagedNetDevice
            from collector.services.netdevices import load_key, managed_password

            with Session(app2.state.engine) as s:
                row = s.exec(select(ManagedNetDevice)).one()
                assert managed_password(row, load_key(restored_dir)) == "Sw1tch-Pa55"
                # The organisation's PDF signing key came back too (encrypted in the database, its
                # key in the data directory): the restored collector still signs PAdES.
                from collector.pdf.layout import AdminDocument, Issuer, render
                from collector.pdfsign import read_signatures
                from collector.services.signing_cert import pdf_signing
                from tests.signing_pki import ORG_NAME, org_pki

                draft = render(
                    AdminDocument(Issuer("UBND", "SỞ", "S", "Huế"), "BÁO CÁO", "BC", "Thử", date.today())
                ).pdf
                with pdf_signing(s, data_dir=restored_dir) as signing:
                    out_pdf = signing.sign(draft, reason="test", location="Huế", stamp="%(signer)s").data
                [info] = read_signatures(out_pdf, trust_roots=[org_pki().root.cert])
                assert info.signer == ORG_NAME and info.intact and info.trusted
    finally:
        app2.state.engine.dispose()

    # A second restore onto the now-filled target needs --force.
    refused = _cli("restore", str(out), "--database-url", restore_url, "--data-dir", str(restored_dir))
    assert refused.returncode == 2 and "--force" in refused.stderr
