"""The console's migration on a database that already holds sites and reports (SQLite and PostgreSQL):
districts become group labels, and the search tables are filled from what devices reported before."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from collector.migrate import alembic_config

SOFTWARE = [
    {
        "name": "WinRAR 6.02 (64-bit)",
        "version": "6.02.0",
        "vendor": "win.rar GmbH",
        "install_date": "2021-03-04",
    },
    {"name": "Google Chrome", "version": "120.0.6099.130"},
    {"name": "Google Chrome", "version": "120.0.6099.130"},  # listed twice by the OS: counted once
    {"name": "", "version": "1"},  # no name: not a program
]
INTERFACES = [
    {"name": "Ethernet", "mac": "00-11-22-33-44-01", "ipv4": ["192.168.1.20/24"], "ipv6": ["fe80::1/64"]},
    {"name": "lo", "ipv4": ["127.0.0.1/8"]},
]


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    base = os.environ.get("WARDWATCH_TEST_DATABASE_URL")
    if not base:
        pytest.skip("WARDWATCH_TEST_DATABASE_URL is not set: no PostgreSQL server to test against")
    url = make_url(base)
    name = f"ww_mig_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_districts_become_groups_and_old_reports_are_searchable(empty_url: str) -> None:
    from alembic import command

    from collector.db import make_engine

    engine = make_engine(empty_url)
    cfg = alembic_config(empty_url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001_core")  # the schema before this workstream: sites have districts
    now = "2026-03-01 08:00:00"
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO site (id, code, name, district, created_at) VALUES "
                "(1, 'P01', 'Phường Phúc Xá', ' Ba Đình ', :now), (2, 'X02', 'Xã Đông Anh', NULL, :now),"
                " (3, 'X03', 'Xã Sóc Sơn', '', :now)"
            ),
            {"now": now},
        )
        conn.execute(
            text(
                "INSERT INTO device (id, site_id, kind, hostname, first_seen_at) "
                "VALUES (1, 1, 'host', 'pc-01', :now)"
            ),
            {"now": now},
        )
        for section, data in (("software", SOFTWARE), ("network_interfaces", INTERFACES)):
            conn.execute(
                text(
                    "INSERT INTO devicesection (device_id, section, hash, data, updated_at, report_id) "
                    "VALUES (1, :s, 'h', :d, :now, 'r1')"
                ),
                {"s": section, "d": json.dumps(data), "now": now},
            )
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")
    with engine.connect() as conn:
        groups = dict(conn.execute(text("SELECT code, group_name FROM site ORDER BY code")).all())
        columns = {c["name"] for c in __import__("sqlalchemy").inspect(conn).get_columns("site")}
        programs = conn.execute(
            text(
                "SELECT p.name, p.version, p.version_key IS NOT NULL, p.name_fold, ds.install_date "
                "FROM device_software ds JOIN software_package p ON p.id = ds.package_id "
                "WHERE ds.device_id = 1 AND ds.site_id = 1 ORDER BY p.name"
            )
        ).all()
        # Nothing lost on the way (on SQLite a copied-and-swapped site table would cascade to devices).
        kept = [
            conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in ("device", "devicesection")
        ]
        addresses = sorted(
            conn.execute(text("SELECT kind, value FROM device_address WHERE site_id = 1")).all()
        )
    engine.dispose()
    assert kept == [1, 2]
    assert groups == {"P01": "Ba Đình", "X02": None, "X03": None}
    assert "district" not in columns
    assert [(p[0], p[1], p[2], p[3]) for p in programs] == [
        ("Google Chrome", "120.0.6099.130", True, "google chrome"),
        ("WinRAR 6.02 (64-bit)", "6.02.0", True, "winrar 6.02 (64-bit)"),
    ]
    assert str(programs[1][4]) == "2021-03-04"
    # Loopback and link-local addresses identify nothing; the MAC is stored as colons, lower case.
    assert addresses == [("ip", "192.168.1.20"), ("mac", "00:11:22:33:44:01")]
