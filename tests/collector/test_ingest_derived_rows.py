"""What a full report leaves in the rows derived from its software section (the search index and the
programs no vulnerability rule knows) is exactly what the section says: after a first report, after
the same report again (nothing to rewrite) and after a changed one; and the wire checks still name
the exact path of a problem hidden in a large report."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlmodel import Session, col, select

from collector.models.search import DeviceSoftware, SoftwarePackage
from collector.models.vulns import VulnUnmapped
from collector.services.report_bounds import parse_bounded_report
from collector.settings import CollectorSettings
from inventory.facts import SoftwareFacts, UserFacts
from inventory.report import WireError
from tests.helpers import enroll, host_report, post_report, seed_site

# Names a search must find as written: accents, an emoji (outside the BMP), quotes, a backslash,
# a tab; one program twice (the first of a name and version wins); Firefox is known to the map.
SOFTWARE = [
    SoftwareFacts(name="Phần Mềm Kế Toán 😀", version="2.1", vendor="Công ty A", source="registry"),
    SoftwareFacts(name='Tool "quoted" \\ path', version="", source="registry"),
    SoftwareFacts(name="Tab\tName", version="1.0", install_date=date(2024, 5, 1), source="registry"),
    SoftwareFacts(name="Tab\tName", version="1.0", install_date=date(2020, 1, 1), source="registry"),
    SoftwareFacts(name="Mozilla Firefox", version="115.0", vendor="Mozilla", source="registry"),
    SoftwareFacts(name="Ứng dụng Nội bộ", version="3", source="registry"),
]


def _search_rows(engine: Any, device_id: int) -> dict[tuple[str, str], tuple[int, int, date | None]]:
    """(name, version) -> (package id, site id, install date) of the device's search rows."""
    with Session(engine) as s:
        rows = s.exec(
            select(
                SoftwarePackage.name,
                SoftwarePackage.version,
                DeviceSoftware.package_id,
                DeviceSoftware.site_id,
                DeviceSoftware.install_date,
            )
            .join(DeviceSoftware, col(DeviceSoftware.package_id) == col(SoftwarePackage.id))
            .where(DeviceSoftware.device_id == device_id)
        ).all()
    return {(n, v): (pid, site, installed) for n, v, pid, site, installed in rows}


def _unmapped(engine: Any, device_id: int) -> dict[tuple[str, str], tuple[str | None, str | None]]:
    with Session(engine) as s:
        rows = s.exec(select(VulnUnmapped).where(VulnUnmapped.device_id == device_id)).all()
    return {(r.source, r.name): (r.vendor, r.version) for r in rows}


def _packages(engine: Any) -> int:
    with Session(engine) as s:
        return len(s.exec(select(SoftwarePackage.id)).all())


def test_the_search_index_and_unmapped_programs_follow_the_software_section(client, app):
    engine = app.state.engine
    secret = seed_site(engine)
    agent = enroll(client, secret)
    first = post_report(client, agent, host_report(agent.agent_id, software=SOFTWARE))  # drains jobs
    assert first.status_code == 202, first.text
    device_id = first.json()["device_id"]
    rows = _search_rows(engine, device_id)
    assert {k: v[2] for k, v in rows.items()} == {
        ("Phần Mềm Kế Toán 😀", "2.1"): None,
        ('Tool "quoted" \\ path', ""): None,
        ("Tab\tName", "1.0"): date(2024, 5, 1),
        ("Mozilla Firefox", "115.0"): None,
        ("Ứng dụng Nội bộ", "3"): None,
    }
    assert len({v[1] for v in rows.values()}) == 1  # the device's site, on every row
    unmapped = {
        ("registry", "Phần Mềm Kế Toán 😀"): ("Công ty A", "2.1"),
        ("registry", 'Tool "quoted" \\ path'): (None, None),
        ("registry", "Tab\tName"): (None, "1.0"),
        ("registry", "Ứng dụng Nội bộ"): (None, "3"),
    }
    assert _unmapped(engine, device_id) == unmapped

    # The same section again: the rows stay exactly as they were (same packages, nothing duplicated).
    again = post_report(client, agent, host_report(agent.agent_id, software=SOFTWARE))
    assert again.status_code == 202, again.text
    assert _search_rows(engine, device_id) == rows
    assert _unmapped(engine, device_id) == unmapped
    assert _packages(engine) == 5

    # Another PC with the same programs shares their packages.
    other = enroll(client, secret, hostname="pc-02")
    r = post_report(
        client,
        other,
        host_report(other.agent_id, hostname="pc-02", machine_id="mid-2", serial="SN-2", software=SOFTWARE),
    )
    assert r.status_code == 202, r.text
    assert {k: v[0] for k, v in _search_rows(engine, r.json()["device_id"]).items()} == {
        k: v[0] for k, v in rows.items()
    }
    assert _packages(engine) == 5

    # A changed section: a program removed, one added, one updated, one's install date and one's
    # vendor changed.
    changed = [
        SoftwareFacts(name="Phần Mềm Kế Toán 😀", version="2.1", vendor="Công ty B", source="registry"),
        SoftwareFacts(name="Tab\tName", version="1.0", install_date=date(2025, 2, 3), source="registry"),
        SoftwareFacts(name="Mozilla Firefox", version="128.0", vendor="Mozilla", source="registry"),
        SoftwareFacts(name="Ứng dụng Nội bộ", version="3", source="registry"),
        SoftwareFacts(name="Chương trình mới", version="0.9", source="dpkg"),
    ]
    r = post_report(client, agent, host_report(agent.agent_id, software=changed))
    assert r.status_code == 202, r.text
    after = _search_rows(engine, device_id)
    assert {k: v[2] for k, v in after.items()} == {
        ("Phần Mềm Kế Toán 😀", "2.1"): None,
        ("Tab\tName", "1.0"): date(2025, 2, 3),
        ("Mozilla Firefox", "128.0"): None,
        ("Ứng dụng Nội bộ", "3"): None,
        ("Chương trình mới", "0.9"): None,
    }
    # Programs it still has keep their packages.
    assert after[("Ứng dụng Nội bộ", "3")][0] == rows[("Ứng dụng Nội bộ", "3")][0]
    assert _unmapped(engine, device_id) == {
        ("registry", "Phần Mềm Kế Toán 😀"): ("Công ty B", "2.1"),
        ("registry", "Tab\tName"): (None, "1.0"),
        ("registry", "Ứng dụng Nội bộ"): (None, "3"),
        ("dpkg", "Chương trình mới"): (None, "0.9"),
    }


def _body(report: Any, spoil: Any) -> bytes:
    data = report.model_dump(mode="json")
    spoil(data)
    return json.dumps(data).encode()


def test_a_problem_deep_in_a_large_report_is_named_at_its_path():
    """The checks that find nothing in a large report are quick; one that finds something names it
    exactly as before, wherever it is."""
    software = [SoftwareFacts(name=f"Package {i}", version="1.0") for i in range(1500)]
    users = [UserFacts(name=f"u{i}", last_logon=datetime(2024, 1, 1, tzinfo=UTC)) for i in range(3)]
    report = host_report("a1", software=software, users=users)
    settings = CollectorSettings()
    assert (
        len(parse_bounded_report(_body(report, lambda d: None), settings=settings).facts.software or [])
        == 1500
    )

    software_at = lambda i, **kw: lambda d: d["facts"]["software"][i].update(**kw)  # noqa: E731
    cases: list[tuple[Any, list[Any], str]] = [
        (software_at(1200, name="bad\x00name"), ["facts", "software", 1200, "name"], "NUL"),
        (software_at(7, vendor="x" * 20_000), ["facts", "software", 7, "vendor"], "at most"),
        (software_at(99, size=2**70), ["facts", "software", 99, "size"], "64-bit"),
        (
            lambda d: d["facts"]["users"][2].update(last_logon="9999-01-01T00:00:00Z"),
            ["facts", "users", 2, "last_logon"],
            "outside 1970-01-01",
        ),
    ]
    for spoil, loc, words in cases:
        with pytest.raises(WireError) as err:
            parse_bounded_report(_body(report, spoil), settings=settings)
        assert [(list(p.loc), words in p.msg) for p in err.value.problems] == [(loc, True)]


def test_a_network_device_configuration_may_be_longer_than_other_strings():
    settings = CollectorSettings(report_max_string_chars=300)
    report = host_report("a1")
    config = "hostname r1\n" + "interface x\n" * 100
    ok = _body(report, lambda d: d["facts"].update(device={"config": config}))
    assert parse_bounded_report(ok, settings=settings).facts.device.config == config  # type: ignore[union-attr]
    long_os = _body(report, lambda d: d["facts"]["os"].update(name="x" * 301))
    with pytest.raises(WireError) as err:
        parse_bounded_report(long_os, settings=settings)
    assert [list(p.loc) for p in err.value.problems] == [["facts", "os", "name"]]
