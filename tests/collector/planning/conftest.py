"""A small fleet in two communes, stored through the real enroll and ingest services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from inventory.facts import BatteryFacts
from tests.collector.planning.seed import add_site, ingest, old_security, pc_facts, win10


@dataclass
class Fleet:
    engine: object
    url: str
    agents: dict[str, str]
    ids: dict[str, int]


@pytest.fixture
def fleet(app, settings) -> Fleet:  # type: ignore[no-untyped-def]
    engine = app.state.engine
    url = settings.database_url
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
    return Fleet(engine, url, agents, ids)
