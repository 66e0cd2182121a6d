"""Import of KEV and NVD files (twice: idempotent), bad input, data age, and findings that follow the
data: re-evaluation on import, KEV due dates, resolution on update. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from collector.db import session_scope
from collector.models.findings import Finding
from collector.models.vulns import CpeMatchRow, Cve, KevEntry, VulnDeviceState
from collector.services import vuln_data, vulns
from collector.services.errors import ServiceError
from inventory.facts import OsFacts, SoftwareFacts
from tests.collector.vulns.support import KEV_FILE, NVD_DIR
from tests.helpers import enroll, host_report, post_report, seed_site, user_token

WIN10 = OsFacts(
    family="windows", name="Windows 10 Pro", version="10.0.19045", build="19045.3803", display_version="22H2"
)


def winrar(version: str) -> list[SoftwareFacts]:
    major_minor = ".".join(version.split(".")[:2])
    return [
        SoftwareFacts(
            name=f"WinRAR {major_minor} (64-bit)", version=version, vendor="win.rar GmbH", source="registry"
        ),
        SoftwareFacts(name="Unikey 4.3 RC5", version="4.3", source="registry"),
    ]


def import_fixtures(engine) -> vuln_data.ImportSummary:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return vuln_data.import_paths(session, paths=[NVD_DIR, KEV_FILE])


def reevaluate(app) -> None:  # type: ignore[no-untyped-def]
    with session_scope(app.state.engine) as session:
        vulns.evaluate_devices(session, due_days=app.state.settings.due_days)


def vuln_findings(engine) -> list[Finding]:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        rows = session.exec(select(Finding).where(Finding.check_id.startswith("vuln."))).all()  # type: ignore[attr-defined]
        for r in rows:
            session.expunge(r)
        return sorted(rows, key=lambda f: (f.check_id, f.target))


def test_import_twice_is_idempotent(app) -> None:  # type: ignore[no-untyped-def]
    engine = app.state.engine
    first = import_fixtures(engine)
    assert (first.nvd_records, first.nvd_changed, first.kev_entries, first.kev_changed) == (
        30,
        30,
        1404,
        1404,
    )
    with Session(engine) as session:
        gen, rows = vuln_data.generation(session), len(session.exec(select(CpeMatchRow)).all())
        kev = session.get(KevEntry, "CVE-2023-38831")
        assert kev is not None and kev.due_date.isoformat() == "2023-09-14"
        cve = session.get(Cve, "CVE-2023-38831")
        assert cve is not None and (cve.severity, cve.cvss_score) == ("high", 7.8)
    second = import_fixtures(engine)
    assert (second.nvd_changed, second.kev_changed) == (0, 0)
    with Session(engine) as session:
        # Nothing changed: the data generation stays, so no device is evaluated again for nothing.
        assert vuln_data.generation(session) == gen
        assert len(session.exec(select(CpeMatchRow)).all()) == rows == 295
        assert len(session.exec(select(Cve)).all()) == 30


def test_a_newer_record_replaces_the_old_one(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import_fixtures(app.state.engine)
    raw = json.loads((NVD_DIR / "CVE-2023-38831.json").read_text(encoding="utf-8"))
    raw["lastModified"] = "2026-11-30T10:00:00.000"
    raw["configurations"][0]["nodes"][0]["cpeMatch"][0]["versionEndExcluding"] = "6.24"
    (tmp_path / "page.json").write_text(json.dumps({"totalResults": 1, "vulnerabilities": [{"cve": raw}]}))
    with session_scope(app.state.engine) as session:
        s = vuln_data.import_paths(session, paths=[tmp_path / "page.json"])
    assert s.nvd_changed == 1
    with Session(app.state.engine) as session:
        (row,) = session.exec(select(CpeMatchRow).where(CpeMatchRow.cve_id == "CVE-2023-38831")).all()
        assert row.end_excl == "6.24"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"hello": 1}', "neither an NVD CVE document nor a KEV catalog"),
        (
            '{"id": "CVE-2024-1", "lastModified": "2024-01-01T00:00:00", "configurations": '
            '[{"nodes": [{"cpeMatch": [{"criteria": "cpe:/a:x"}]}]}]}',
            "cpeMatch[0]: not a CPE 2.3 name",
        ),
        (
            '{"catalogVersion": "1", "dateReleased": "2024-01-01T00:00:00Z", '
            '"vulnerabilities": [{"cveID": "CVE-1", "dateAdded": "yesterday"}]}',
            "dateAdded: not a date",
        ),
    ],
)
def test_bad_files_are_refused_with_their_place_and_nothing_is_stored(  # type: ignore[no-untyped-def]
    app, tmp_path: Path, content: str, message: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    with pytest.raises(ServiceError, match="bad.json") as exc, session_scope(app.state.engine) as session:
        vuln_data.import_paths(session, paths=[NVD_DIR / "CVE-2023-38831.json", bad])
    assert message in str(exc.value)
    with Session(app.state.engine) as session:
        assert session.exec(select(Cve)).all() == []


def test_data_age_and_the_14_day_warning(app) -> None:  # type: ignore[no-untyped-def]
    with Session(app.state.engine) as session:
        assert all(s.stale and s.data_date is None for s in vuln_data.data_status(session))
    import_fixtures(app.state.engine)
    with Session(app.state.engine) as session:
        released = datetime(2025, 8, 25, 17, 4, 19, 979600, tzinfo=UTC)
        kev = {s.name: s for s in vuln_data.data_status(session, now=released + timedelta(days=14))}["kev"]
        assert (kev.data_date, kev.age_days, kev.stale, kev.version) == (released, 14, False, "2025.08.25")
        kev = {s.name: s for s in vuln_data.data_status(session, now=released + timedelta(days=15))}["kev"]
        assert kev.stale and kev.age_days == 15


def test_findings_follow_the_data_and_the_software(client, app) -> None:  # type: ignore[no-untyped-def]
    engine = app.state.engine
    agent = enroll(client, seed_site(engine), "pc-ketoan")
    assert (
        post_report(
            client, agent, host_report(agent.agent_id, os=WIN10, software=winrar("6.22.0"))
        ).status_code
        == 202
    )
    assert vuln_findings(engine) == []  # no data yet: nothing to match
    # Import: the findings appear without waiting for the next report.
    import_fixtures(engine)
    reevaluate(app)
    (kev,) = vuln_findings(engine)
    assert (kev.check_id, kev.target, kev.status, kev.severity) == (
        "vuln.kev",
        "rarlab:winrar",
        "open",
        "critical",
    )
    assert kev.observed is not None
    assert kev.observed["cves"] == ["CVE-2023-38831"] and kev.observed["installed_version"] == "6.22"
    assert (
        kev.observed["fixed_version"] == "6.23"
        and "https://nvd.nist.gov/vuln/detail/CVE-2023-38831" in kev.observed["references"]
    )
    # Due date: KEV's dueDate (2023-09-14) is earlier than the critical policy, so it wins.
    assert kev.due_at == datetime(2023, 9, 14, tzinfo=UTC)
    # An unrelated full report without the software section changing: the finding stays open, and
    # the matcher is not run again (the device's inputs did not change).
    with Session(engine) as session:
        before = session.get(VulnDeviceState, kev.device_id).evaluated_at  # type: ignore[union-attr]
    assert (
        post_report(
            client, agent, host_report(agent.agent_id, os=WIN10, software=winrar("6.22.0"))
        ).status_code
        == 202
    )
    with Session(engine) as session:
        assert session.get(VulnDeviceState, kev.device_id).evaluated_at == before  # type: ignore[union-attr]
    assert [f.status for f in vuln_findings(engine)] == ["open"]
    # WinRAR updated: the next report resolves it.
    assert (
        post_report(
            client, agent, host_report(agent.agent_id, os=WIN10, software=winrar("6.23.0"))
        ).status_code
        == 202
    )
    (kev,) = vuln_findings(engine)
    assert kev.status == "resolved"
    # The API and the unmapped list see it through the technician's scope.
    tech = user_token(client, engine, sites=["P01"])
    assert client.get("/api/v1/vulnerabilities", headers=tech).json() == []
    with Session(engine) as session:
        assert [u.name for u in vulns.unmapped(session, scope=None)] == ["Unikey 4.3 RC5"]


def test_cve_findings_take_their_severity_from_cvss(client, app) -> None:  # type: ignore[no-untyped-def]
    import_fixtures(app.state.engine)
    agent = enroll(client, seed_site(app.state.engine), "pc-01")
    sw = [SoftwareFacts(name="Adobe Acrobat Reader DC", version="21.001.20150", source="registry")]
    assert post_report(client, agent, host_report(agent.agent_id, os=WIN10, software=sw)).status_code == 202
    found = {f.check_id: f for f in vuln_findings(app.state.engine)}
    # CVE-2021-28550 (KEV) and CVE-2023-26369 (KEV): both known exploited -> one vuln.kev finding.
    assert set(found) == {"vuln.kev"}
    assert found["vuln.kev"].observed["cves"] == ["CVE-2021-28550", "CVE-2023-26369"]  # type: ignore[index]


def test_a_reports_partial_index_matches_like_the_full_one(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The ingest path reads only the rows of the device's programs; an AND node naming a program the
    device lacks must still be false there."""
    from collector.vulns.mapping import installed_software, load_map, os_installed

    import_fixtures(app.state.engine)
    both = {
        "id": "CVE-2099-0001",
        "lastModified": "2026-11-30T10:00:00.000",
        # One AND node over two programs: only a device with both is vulnerable.
        "configurations": [
            {
                "nodes": [
                    {
                        "operator": "AND",
                        "cpeMatch": [
                            {"vulnerable": True, "criteria": "cpe:2.3:a:rarlab:winrar:*:*:*:*:*:*:*:*"},
                            {"vulnerable": True, "criteria": "cpe:2.3:a:7-zip:7-zip:*:*:*:*:*:*:*:*"},
                        ],
                    }
                ]
            }
        ],
    }
    (tmp_path / "both.json").write_text(json.dumps(both))
    with session_scope(app.state.engine) as session:
        vuln_data.import_paths(session, paths=[tmp_path / "both.json"])
    lists = [
        [("WinRAR 6.22 (64-bit)", "6.22.0")],
        [("WinRAR 6.22 (64-bit)", "6.22.0"), ("7-Zip 23.01 (x64)", "23.01")],
        [
            ("Adobe Acrobat Reader DC", "18.011.20038"),
            ("Google Chrome", "99.0.4844.50"),
            ("Java 7 Update 9", "7.0.90"),
        ],
    ]
    with Session(app.state.engine) as session:
        full = vuln_data.build_index(session)
        for sw in lists:
            installed, _ = installed_software(load_map(), [{"name": n, "version": v} for n, v in sw])
            installed += os_installed(WIN10.model_dump())
            keys = {i.key for i in installed}
            os_keys = {i.key for i in installed if i.cpe.part == "o"}
            got_full = sorted((h.cve, h.installed.key) for h in full.match(installed))
            for part in (
                vuln_data.index_for(session, keys=keys),
                vuln_data.index_for(session, keys=keys, platforms=os_keys),
            ):
                assert len(part) < len(full)
                assert sorted((h.cve, h.installed.key) for h in part.match(installed)) == got_full
            assert ("CVE-2099-0001" in {c for c, _ in got_full}) is (len(sw) == 2)


def test_a_session_on_one_connection_reads_the_same_cached_data(app) -> None:  # type: ignore[no-untyped-def]
    """A caller holding one connection (its own transaction) gets the index and software map cached
    for that database, as a session on the engine does (a Connection has no ``url`` of its own)."""
    engine = app.state.engine
    import_fixtures(engine)
    with Session(engine) as session:
        by_engine = vuln_data.load_index(session)
        software_map = vulns.software_map(session)
    with engine.connect() as conn, Session(bind=conn) as session:
        assert vuln_data.load_index(session) is by_engine
        assert vuln_data.cached_index(session) is by_engine
        assert vulns.software_map(session) is software_map
