"""A small fleet in two communes, stored through the real enroll and ingest services."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from inventory.facts import BatteryFacts
from tests.collector.planning.seed import add_site, ingest, old_security, pc_facts, win10
from tests.conftest import empty_database


@dataclass
class Fleet:
    engine: object
    url: str
    agents: dict[str, str]
    ids: dict[str, int]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """As tests/conftest.py's, but a test that takes ``fleet`` on SQLite gets a copy of a database in
    which the fleet was stored once per test process (storing it cost ~0.3-0.8 s per test)."""
    if request.param == "sqlite" and "fleet" in request.fixturenames:
        template: Path = request.getfixturevalue("fleet_template")[0]
        path = tmp_path / "wardwatch.db"
        shutil.copy(template, path)
        yield f"sqlite:///{path}"
    else:
        yield empty_database(request, tmp_path)


@pytest.fixture(scope="session")
def fleet_template(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, str], dict[str, int]]:
    """A SQLite database holding the fleet, its agents and device ids."""
    from collector.db import make_engine

    path = tmp_path_factory.mktemp("fleet") / "wardwatch.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    agents, ids = store_fleet(engine, url)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")  # every row in the file that is copied
    engine.dispose()
    return path, agents, ids


@pytest.fixture
def fleet(request: pytest.FixtureRequest, app, settings) -> Fleet:  # type: ignore[no-untyped-def]
    engine = app.state.engine
    url = settings.database_url
    if url.startswith("sqlite"):  # database_url copied the stored fleet
        _path, agents, ids = request.getfixturevalue("fleet_template")
        return Fleet(engine, url, dict(agents), dict(ids))
    agents, ids = store_fleet(engine, url)
    return Fleet(engine, url, agents, ids)


def store_fleet(engine: Any, url: str) -> tuple[dict[str, str], dict[str, int]]:
    agents = {
        "P01": add_site(engine, "P01", "Phường Bến Nghé"),
        "X02": add_site(engine, "X02", "Xã Bình Chánh"),
    }
    ids = {
        # Failing disk, Windows 10 on hardware that cannot run Windows 11, 12 years old, 4 GB.
        "pc-fail": ingest(
            engine,
            url,
            agents["P01"],
            pc_facts(
                "pc-fail",
                serial="CN0FAIL01",
                disk="hdd-failing-reallocated-pending",
                rotational=True,
                os=win10(),
                security=old_security(),
                cpu="Intel(R) Core(TM) i5-4590 CPU @ 3.30GHz",
                launch_year=2014,
                bios_date=date(2014, 5, 1),
                ram_gb=4,
            ),
        ),
        "pc-new": ingest(
            engine, url, agents["P01"], pc_facts("pc-new", serial="CN0NEW001", bios_date=date(2025, 6, 1))
        ),
        # Old and slow but its disk is fine.
        "pc-old": ingest(
            engine,
            url,
            agents["X02"],
            pc_facts(
                "pc-old",
                serial="CN0OLD001",
                disk="hdd-healthy-desktop-old",
                rotational=True,
                os=win10(),
                security=old_security(),
                cpu="Intel(R) Core(TM) i3-2120 CPU @ 3.30GHz",
                launch_year=2011,
                bios_date=date(2012, 1, 1),
                ram_gb=2,
            ),
        ),
        # A laptop with a worn battery and a worn SSD.
        "lap-1": ingest(
            engine,
            url,
            agents["X02"],
            pc_facts(
                "lap-1",
                serial="5CG0LAP01",
                chassis="laptop",
                vendor="HP",
                model="ProBook 450 G5",
                bios_date=date(2018, 3, 1),
                disk="ssd-sata-worn",
                batteries=[
                    BatteryFacts(
                        name="BAT0", design_capacity_wh=48, full_charge_capacity_wh=17, cycle_count=820
                    )
                ],
            ),
        ),
    }
    return agents, ids
