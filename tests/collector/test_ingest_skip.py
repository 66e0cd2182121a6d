"""Sections a device already holds with the same hash are left out before parsing and derive nothing."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from collector.models.core import DeviceSection
from collector.models.jobs import Job
from collector.services.report_bounds import parse_bounded_report_skipping
from collector.settings import CollectorSettings
from inventory.facts import SoftwareFacts
from inventory.report import (
    CheckResult,
    CheckStatus,
    WireError,
    _received_section_hash,
    _without_nulls,
    section_hash,
)
from tests.helpers import drain_jobs, enroll, host_report, post_report, seed_site

SOFTWARE = [
    SoftwareFacts(name="Mozilla Firefox", version="115.0", vendor=None, source="dpkg"),
    SoftwareFacts(name="LibreOffice", version="7.6", vendor="TDF"),
    SoftwareFacts(name="Unikey", version="4.3"),
]


def _body(report) -> bytes:  # type: ignore[no-untyped-def]
    return report.model_dump_json().encode()


def test_the_hash_of_a_section_as_received_is_the_stored_hash_of_its_facts():
    report = host_report("a1", software=SOFTWARE)
    stored = {name: section_hash(data) for name, data in report.present_sections().items()}
    parsed, skipped = parse_bounded_report_skipping(
        _body(report), settings=CollectorSettings(), known=lambda n, h: stored.get(n) == h
    )
    # Every section the agent sends as it dumps them is recognised (nulls included on the wire).
    assert skipped == stored
    assert parsed.facts.software is None and parsed.present_sections() == {}


# Keys and strings made of the characters the null-member pattern must not be fooled by.
_TEXT = st.lists(
    st.sampled_from(["a", "é", ",", ":", ":null", "null", '"', "\\", "{", "}", "[", "]"]), max_size=5
).map("".join)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=1000, deadline=None)
@given(_JSON)
@example(["v,", ":null,x"])
@example({"a": None, "b,": None, "c": {"d": None}, "e": [None, {"f": None}]})
def test_a_section_as_received_hashes_as_its_facts_without_nulls(value):  # type: ignore[no-untyped-def]
    """The hash cut from one canonical dump equals the hash of the section with its nulls removed
    (strings and keys that look like null members included), so a changed section is never taken
    for the stored one."""
    assert _received_section_hash(value) == section_hash(_without_nulls(value))


def test_an_unchanged_section_is_not_validated_again():
    """Proof by a bound lowered since: the stored section would break it, yet it is not looked at."""
    report = host_report("a1", software=SOFTWARE)
    digest = section_hash(report.present_sections()["software"])
    strict = CollectorSettings(report_max_software=1)
    with pytest.raises(WireError):
        parse_bounded_report_skipping(_body(report), settings=strict, known=None)
    parsed, skipped = parse_bounded_report_skipping(
        _body(report), settings=strict, known=lambda n, h: n == "software" and h == digest
    )
    assert skipped == {"software": digest} and parsed.facts.software is None


def test_a_changed_section_is_parsed_and_validated():
    report = host_report("a1", software=SOFTWARE)
    parsed, skipped = parse_bounded_report_skipping(
        _body(report), settings=CollectorSettings(), known=lambda n, h: n == "software" and h == "0" * 64
    )
    assert skipped == {} and parsed.facts.software is not None and len(parsed.facts.software) == 3


def _jobs(engine) -> list[str]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return sorted(j.kind for j in s.exec(select(Job)).all())


@pytest.fixture
def quiet_client(database_url, tmp_path):  # type: ignore[no-untyped-def]
    """A collector whose own worker is off: what a report queues stays visible until drained."""
    from fastapi.testclient import TestClient

    from collector.app import create_app

    app = create_app(CollectorSettings(database_url=database_url, data_dir=tmp_path / "d", job_worker=False))
    with TestClient(app) as c:
        yield c
    app.state.engine.dispose()


def test_a_report_repeating_the_stored_sections_derives_nothing_from_them(quiet_client):
    client = quiet_client
    engine = client.app.state.engine
    agent = enroll(client, seed_site(engine))
    first = host_report(agent.agent_id, software=SOFTWARE)
    device_id = post_report(client, agent, first).json()["device_id"]  # drains the queue
    with Session(engine) as s:
        before = {
            r.section: (r.report_id, r.updated_at)
            for r in s.exec(select(DeviceSection).where(DeviceSection.device_id == device_id)).all()
        }
    assert before["software"][0] == str(first.report_id)

    # Same facts, a day later: nothing is rewritten, no matching or scoring is queued (the site's
    # daily snapshot is, once per site: the device's last report time is one of its figures).
    again = host_report(agent.agent_id, software=SOFTWARE)
    headers = {**agent.headers, "Content-Type": "application/json"}
    assert client.post("/api/v1/reports", content=_body(again), headers=headers).status_code == 202
    with Session(engine) as s:
        after = {
            r.section: (r.report_id, r.updated_at)
            for r in s.exec(select(DeviceSection).where(DeviceSection.device_id == device_id)).all()
        }
    assert after == before
    assert _jobs(engine) == ["site.snapshot"]

    # A new program: the software section is stored again and its derived work is queued.
    changed = host_report(
        agent.agent_id,
        software=[*SOFTWARE, SoftwareFacts(name="7-Zip", version="23.01")],
        results=[CheckResult(check_id="host.firewall_enabled", status=CheckStatus.FAIL)],
    )
    assert client.post("/api/v1/reports", content=_body(changed), headers=headers).status_code == 202
    assert _jobs(engine) == ["device.score", "device.vulns", "site.snapshot"]
    with Session(engine) as s:
        row = s.get(DeviceSection, (device_id, "software"))
        assert row is not None and row.report_id == str(changed.report_id) and len(row.data) == 4
    assert drain_jobs(client) >= 3 and _jobs(engine) == []
