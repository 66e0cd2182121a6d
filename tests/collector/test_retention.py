"""Bounded storage: retention of raw reports on SQLite and PostgreSQL, heartbeats without raw rows,
and the agent's gzip body stored as it came.

The retention world holds raw reports of every age and kind on two devices, some of them referred to
by a finding, a publication or a device's current state; ``wardwatch db prune --dry-run`` then
``wardwatch db prune`` must report and delete exactly the ones the policy names.
"""

from __future__ import annotations

import gzip
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, func, select

from collector.models.core import Agent, Device, RawReport
from collector.models.findings import Finding, FindingEvent
from collector.models.history import ChangeEvent
from collector.models.inspections import Inspection, Publication
from collector.services import partitions
from inventory.report import HostIdentity, Report, ReportKind, Subject
from tests.collector.support import no_wardwatch_env, ww
from tests.helpers import enroll, host_report, post_report, seed_site

# Vietnam is UTC+7: 01:00 and 13:00 UTC are 08:00 and 20:00 of the same Vietnamese day.
MORNING, EVENING = timedelta(hours=1), timedelta(hours=13)


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    """No scheduler: its daily ``storage.prune`` (first run at the app's start) deleted this world's rows
    between the test's dry run and its prune on a machine at load 12."""
    return settings.model_copy(update={"scheduler_enabled": False})


def _day(days_ago: int) -> datetime:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=days_ago)


def _raw(session: Session, agent_id: str, device_id: int, kind: str, at: datetime) -> str:
    rid = str(uuid.uuid4())
    session.add(
        RawReport(
            report_id=rid,
            agent_id=agent_id,
            device_id=device_id,
            kind=kind,
            schema_version=1,
            collected_at=at,
            received_at=at,
            size_bytes=10,
            body_gz=gzip.compress(b"{}"),
        )
    )
    return rid


def _world(client, app) -> tuple[set[str], set[str]]:  # type: ignore[no-untyped-def]
    """Raw reports the policy keeps and those it deletes (by report id)."""
    engine = app.state.engine
    # PostgreSQL: the months of these rows get their partitions before the session below writes
    # (the daily job's work; ingest does it for each report's month).
    for days in (10, 100, 400, 800, 900, 1000, 1100):
        partitions.ensure_for(engine, _day(days))
    agent = enroll(client, seed_site(engine))
    current = post_report(client, agent, host_report(agent.agent_id))
    assert current.status_code == 202
    keep: set[str] = {current.json()["report_id"]}  # the device's last full report, today
    drop: set[str] = set()
    with Session(engine) as s:
        device = s.get(Device, current.json()["device_id"])
        assert device is not None
        d = device.id or 0
        a = agent.agent_id
        keep.add(_raw(s, a, d, "delta", _day(10) + MORNING))  # within 90 days
        drop.add(_raw(s, a, d, "delta", _day(100) + MORNING))  # past 90 days
        drop.add(_raw(s, a, d, "heartbeat", _day(100) + MORNING))  # stored before heartbeats stopped
        drop.add(_raw(s, a, d, "full", _day(100) + MORNING))  # not the day's last full report
        keep.add(_raw(s, a, d, "full", _day(100) + EVENING))  # the day's snapshot
        keep.add(_raw(s, a, d, "full", _day(400) + EVENING))  # a snapshot within two years
        drop.add(_raw(s, a, d, "full", _day(800) + EVENING))  # a snapshot past two years
        # Referred to by a finding's event: kept whatever its age.
        by_finding = _raw(s, a, d, "delta", _day(900) + MORNING)
        keep.add(by_finding)
        now = datetime.now(UTC)
        finding = Finding(
            device_id=d,
            site_id=device.site_id,
            check_id="host.x",
            severity="high",
            status="open",
            first_seen_at=now,
            last_seen_at=now,
            opened_at=now,
        )
        s.add(finding)
        s.flush()
        s.add(FindingEvent(finding_id=finding.id or 0, kind="opened", status="open", report_id=by_finding))
        # The evidence of a publication: the last full report before the inspection's prefill.
        keep.add(_raw(s, a, d, "full", _day(1000) + EVENING))
        drop.add(_raw(s, a, d, "full", _day(1000) + MORNING))
        inspection = Inspection(
            site_id=device.site_id,
            template_key="t",
            template_version=1,
            lead_username="lead",
            created_by="lead",
            status="published",
            prefilled_at=_day(1000) + EVENING + timedelta(hours=1),
        )
        s.add(inspection)
        s.flush()
        s.add(
            Publication(
                inspection_id=inspection.id or 0,
                slug=uuid.uuid4().hex,
                site_id=device.site_id,
                title="t",
                published_by="lead",
                body=b"{}",
                signature=b"s",
                pdf=b"%PDF",
                pdf_signature=b"s",
                key_id="k",
            )
        )
        # A silent device: its last full report is three years old and still its current state.
        silent = Device(site_id=device.site_id, hostname="pc-silent", agent_id=a)
        s.add(silent)
        s.flush()
        base = _raw(s, a, silent.id or 0, "full", _day(1100) + EVENING)
        silent.last_full_report_id = base
        s.add(silent)
        keep.add(base)
        drop.add(_raw(s, a, silent.id or 0, "delta", _day(1100) + EVENING + timedelta(hours=1)))
        # Change history past its two years goes, within them stays.
        for days, bucket in ((800, "old"), (10, "new")):
            s.add(
                ChangeEvent(
                    device_id=d,
                    site_id=device.site_id,
                    at=_day(days),
                    report_id=current.json()["report_id"],
                    category="software",
                    kind="software",
                    action="installed",
                    subject=bucket,
                )
            )
        s.commit()
    return keep, drop


def _report_ids(engine) -> set[str]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return set(s.exec(select(RawReport.report_id)).all())


def _changes(engine) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(ChangeEvent)).one()


def _prune(url: str, *extra: str, batch: int = 5000) -> str:
    env = {**no_wardwatch_env(), "WARDWATCH_PRUNE_BATCH_SIZE": str(batch)}
    done = ww("db", "prune", "--database-url", url, *extra, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_prune_deletes_exactly_what_the_policy_names_and_dry_run_deletes_nothing(client, app, database_url):
    keep, drop = _world(client, app)
    engine = app.state.engine
    before = _report_ids(engine)
    assert keep | drop == before

    dry = _prune(database_url, "--dry-run")
    assert f"rawreport: would delete {len(drop)} rows" in dry, dry
    assert "change_event: would delete 1 rows" in dry, dry
    assert _report_ids(engine) == before and _changes(engine) == 2  # nothing deleted

    # Batches of two: the walk passes over the rows it keeps and deletes the rest, batch after batch.
    done = _prune(database_url, batch=2)
    assert f"rawreport: deleted {len(drop)} rows" in done, done
    assert "change_event: deleted 1 rows" in done, done
    assert _report_ids(engine) == keep
    assert _changes(engine) == 1

    again = _prune(database_url)  # nothing left to do: the policy holds
    assert "rawreport: deleted 0 rows" in again, again


def test_a_heartbeat_moves_liveness_without_a_raw_report(client, app):
    engine = app.state.engine
    agent = enroll(client, seed_site(engine))
    full = post_report(client, agent, host_report(agent.agent_id)).json()
    with Session(engine) as s:
        seen_before = s.get(Agent, agent.agent_id).last_seen_at  # type: ignore[union-attr]
        device_before = s.get(Device, full["device_id"]).last_report_at  # type: ignore[union-attr]
    heartbeat = Report(
        agent_id=agent.agent_id,
        report_id=uuid.uuid4(),
        collected_at=datetime.now(UTC),
        kind=ReportKind.HEARTBEAT,
        subject=Subject(
            hostname="pc-01", host=HostIdentity(machine_id="mid-1", serial="SN-1", mac="00:11:22:33:44:55")
        ),
    )
    r = post_report(client, agent, heartbeat)
    assert r.status_code == 202, r.text
    assert _report_ids(engine) == {full["report_id"]}
    with Session(engine) as s:
        assert s.get(Agent, agent.agent_id).last_seen_at > seen_before  # type: ignore[operator,union-attr]
        assert s.get(Device, full["device_id"]).last_report_at > device_before  # type: ignore[operator,union-attr]


def test_the_agents_gzip_body_is_stored_as_received(client, app):
    engine = app.state.engine
    agent = enroll(client, seed_site(engine))
    report = host_report(agent.agent_id)
    # A compression level the collector would not pick: a re-gzipped body would differ.
    sent = gzip.compress(report.model_dump_json().encode(), compresslevel=1, mtime=12345)
    headers = {**agent.headers, "Content-Type": "application/json", "Content-Encoding": "gzip"}
    assert client.post("/api/v1/reports", content=sent, headers=headers).status_code == 202
    plain = host_report(agent.agent_id)
    assert post_report(client, agent, plain, gzipped=False).status_code == 202
    with Session(engine) as s:
        stored = {r.report_id: r for r in s.exec(select(RawReport)).all()}
    assert stored[str(report.report_id)].body_gz == sent
    assert stored[str(report.report_id)].size_bytes == len(report.model_dump_json().encode())
    # A plain body is compressed by the collector, and reads back as sent.
    assert gzip.decompress(stored[str(plain.report_id)].body_gz) == plain.model_dump_json().encode()
