"""Raw reports partitioned by month on PostgreSQL: partitions ahead, a month rolling over, old empty
months dropped by retention. (The upgrade of an existing database keeping its rows is
``test_migrations``' release test, which also compares every raw report before and after.)"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session

from collector.app import create_app
from collector.models.core import Agent
from collector.services import partitions
from collector.services.ingest import ingest_report
from collector.services.retention import run_daily
from collector.settings import CollectorSettings
from tests.helpers import enroll, host_report, post_report, seed_site, truncate_all


@pytest.fixture
def pg_app(pg_database: str, tmp_path: Path) -> Iterator[tuple[TestClient, object]]:
    truncate_all(pg_database)
    settings = CollectorSettings(
        database_url=pg_database,
        data_dir=tmp_path / "data",
        notify_interval_seconds=0,
        retention_interval_hours=0,
    )
    app = create_app(settings)
    with TestClient(app) as client:
        yield client, app
    app.state.engine.dispose()


def _month_ahead(months: int) -> datetime:
    month = partitions.month_start(datetime.now(UTC))
    for _ in range(months):
        month = partitions.next_month(month)
    return datetime(month.year, month.month, 1, 12, tzinfo=UTC)


def _partition_of(conn, report_id: str) -> str:  # type: ignore[no-untyped-def]
    return conn.execute(
        text("SELECT tableoid::regclass::text FROM rawreport WHERE report_id = :r"), {"r": report_id}
    ).scalar_one()


def _names(conn) -> set[str]:  # type: ignore[no-untyped-def]
    return {name for name, _month in partitions.partitions(conn)}


def test_raw_reports_are_partitioned_by_month_with_months_ahead(pg_app):
    client, app = pg_app
    with app.state.engine.connect() as conn:
        assert partitions.is_partitioned(conn)
        names = _names(conn)
    for months in range(partitions.AHEAD + 1):
        assert partitions.partition_name(partitions.month_start(_month_ahead(months))) in names
    agent = enroll(client, seed_site(app.state.engine))
    r = post_report(client, agent, host_report(agent.agent_id))
    assert r.status_code == 202
    with app.state.engine.connect() as conn:
        this_month = partitions.partition_name(partitions.month_start(datetime.now(UTC)))
        assert _partition_of(conn, r.json()["report_id"]) == f"{partitions.SCHEMA}.{this_month}"


def test_a_report_dated_in_a_month_without_partition_gets_a_new_one(pg_app):
    """A month rolls over past the months made ahead: the report still lands, in its own month."""
    client, app = pg_app
    engine = app.state.engine
    agent = enroll(client, seed_site(engine))
    later = _month_ahead(partitions.AHEAD + 7)  # beyond what the other tests make
    name = partitions.partition_name(partitions.month_start(later))
    with engine.connect() as conn:
        assert name not in _names(conn)
    report = host_report(agent.agent_id).model_copy(update={"collected_at": later})
    body = report.model_dump_json().encode()
    with Session(engine) as session:
        stored_agent = session.get(Agent, agent.agent_id)
        assert stored_agent is not None
        outcome = ingest_report(
            session, settings=app.state.settings, agent=stored_agent, report=report, body=body
        )
        session.commit()
    assert outcome.status == "accepted"
    with engine.connect() as conn:
        assert _partition_of(conn, str(report.report_id)) == f"{partitions.SCHEMA}.{name}"


def test_the_daily_job_makes_the_coming_months_and_drops_old_empty_ones(pg_app):
    _client, app = pg_app
    engine = app.state.engine
    settings = app.state.settings
    # Run the job as if five months had passed: months up to five + AHEAD are made.
    result = run_daily(engine, settings, now=_month_ahead(5))
    expected = partitions.partition_name(partitions.month_start(_month_ahead(5 + partitions.AHEAD)))
    assert expected in result.partitions_created
    # An empty month older than the snapshot retention is dropped; a recent one stays.
    old = datetime.now(UTC) - timedelta(days=settings.snapshot_retention_days + 62)
    partitions.ensure_for(engine, old)
    old_name = partitions.partition_name(partitions.month_start(old))
    with engine.connect() as conn:
        assert old_name in _names(conn)
    result = run_daily(engine, settings)
    assert old_name in result.partitions_dropped
    with engine.connect() as conn:
        names = _names(conn)
    assert old_name not in names
    assert partitions.partition_name(partitions.month_start(datetime.now(UTC))) in names
