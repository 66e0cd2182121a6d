"""Deltas that carry only the results that changed (``results_hash``), built by the real agent code
and stored by the real collector, on SQLite and PostgreSQL."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from agent.cycle import Collected, build_report, spool_report
from agent.spool import Spool
from agent.state import Baseline, update_baseline
from collector.models.core import DeviceResult, RawReport
from collector.models.findings import Finding
from inventory.facts import Facts, MemoryFacts, OsFacts, SystemFacts
from inventory.report import CheckResult, CheckStatus, HostIdentity
from tests.helpers import EnrolledAgent, enroll, seed_site

FAIL, PASS = CheckStatus.FAIL, CheckStatus.PASS


def _collected(results: list[CheckResult], free: int) -> Collected:
    facts = Facts(
        system=SystemFacts(hostname="pc-01", serial="S1"),
        os=OsFacts(family="linux", name="Debian"),
        memory=MemoryFacts(total_bytes=4 << 30, available_bytes=free),
    )
    identity = HostIdentity(machine_id="m1", serial="S1", mac="00:11:22:33:44:55")
    return Collected(facts, results, ["certs", "checks"], "pc-01", identity)


def _results(firewall: CheckStatus, *, cert_a: bool) -> list[CheckResult]:
    out = [
        CheckResult(check_id="host.firewall.enabled", status=firewall, evidence=f"ufw {firewall.value}"),
        CheckResult(check_id="host.updates.automatic", status=FAIL, evidence="unattended-upgrades off"),
        CheckResult(check_id="cert.signing.validity", status=PASS, target="CN=B", evidence="valid"),
    ]
    if cert_a:
        out.append(
            CheckResult(check_id="cert.signing.validity", status=FAIL, target="CN=A", evidence="expired")
        )
    return out


def _send(client: Any, agent: EnrolledAgent, spool: Spool, state: Path, built: Any) -> Any:
    """Spool the report as the agent does, post it, and acknowledge it into the baseline on 202."""
    spool_report(spool, built)
    item = next(i for i in spool.peek(100) if i.report_id == built.report_id)
    headers = {**agent.headers, "Content-Type": "application/json", "Content-Encoding": "gzip"}
    answer = client.post("/api/v1/reports", content=gzip.compress(built.body), headers=headers)
    if answer.status_code == 202:
        update_baseline(state, item, answer.json()["status"])
    return answer


def _stored(engine: Any) -> dict[tuple[str, str], str]:
    with Session(engine) as s:
        return {(r.check_id, r.target): r.status for r in s.exec(select(DeviceResult)).all()}


def _findings(engine: Any) -> dict[tuple[str, str], str]:
    with Session(engine) as s:
        return {(f.check_id, f.target): f.status for f in s.exec(select(Finding)).all()}


def _full_then_baseline(client: Any, app: Any, tmp_path: Path) -> tuple[EnrolledAgent, Spool, Path]:
    agent = enroll(client, seed_site(app.state.engine))
    state = tmp_path / "state"
    state.mkdir()
    spool = Spool(state / "spool.db")
    full = build_report(_collected(_results(FAIL, cert_a=True), free=1000), agent_id=agent.agent_id)
    assert _send(client, agent, spool, state, full).status_code == 202
    return agent, spool, state


def test_a_delta_carries_only_changed_results_and_the_others_stay(client, app, tmp_path):
    engine = app.state.engine
    agent, spool, state = _full_then_baseline(client, app, tmp_path)
    assert _findings(engine)[("host.updates.automatic", "")] == "open"

    # An hour later: the firewall was switched on and certificate A was removed; the rest holds.
    now = _collected(_results(PASS, cert_a=False), free=2000)
    delta = build_report(now, agent_id=agent.agent_id, baseline=Baseline.load(state), full=False)
    assert delta.kind == "delta" and delta.report.results_hash is not None
    assert [(r.check_id, r.status) for r in delta.report.results] == [("host.firewall.enabled", PASS)]
    assert [(g.check_id, g.target) for g in delta.report.results_gone] == [("cert.signing.validity", "CN=A")]
    r = _send(client, agent, spool, state, delta)
    assert r.status_code == 202, r.text

    # The results the delta did not carry are not stale: they stay, and so do their findings.
    assert _stored(engine) == {
        ("host.firewall.enabled", ""): "pass",
        ("host.updates.automatic", ""): "fail",
        ("cert.signing.validity", "CN=B"): "pass",
    }
    findings = _findings(engine)
    assert findings[("host.updates.automatic", "")] == "open"
    assert findings[("host.firewall.enabled", "")] == "resolved"
    assert findings[("cert.signing.validity", "CN=A")] == "resolved"  # gone with its certificate

    # Nothing changed since: the next delta carries no result at all, and still stores.
    quiet = build_report(
        _collected(_results(PASS, cert_a=False), free=3000),
        agent_id=agent.agent_id,
        baseline=Baseline.load(state),
        full=False,
    )
    assert quiet.report.results == [] and quiet.report.results_gone == []
    assert _send(client, agent, spool, state, quiet).status_code == 202
    assert _stored(engine)[("host.updates.automatic", "")] == "fail"


def test_a_delta_on_results_the_collector_no_longer_holds_asks_for_a_full_report(client, app, tmp_path):
    engine = app.state.engine
    agent, spool, state = _full_then_baseline(client, app, tmp_path)
    # The collector lost a result the agent believes it holds (a restored backup, say).
    with Session(engine) as s:
        row = s.exec(select(DeviceResult).where(DeviceResult.check_id == "host.updates.automatic")).one()
        s.delete(row)
        s.commit()
    delta = build_report(
        _collected(_results(PASS, cert_a=True), free=2000),
        agent_id=agent.agent_id,
        baseline=Baseline.load(state),
        full=False,
    )
    r = _send(client, agent, spool, state, delta)
    assert r.status_code == 409 and r.json()["needs_full"] is True
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(RawReport)).one() == 1
    assert ("host.updates.automatic", "") not in _stored(engine)


def test_a_failure_reported_again_unchanged_keeps_its_finding_open_and_seen(client, app):
    from tests.helpers import host_report, post_report

    engine = app.state.engine
    agent = enroll(client, seed_site(engine))
    failing = CheckResult(check_id="host.firewall.enabled", status=FAIL, evidence="ufw inactive")
    post_report(client, agent, host_report(agent.agent_id, results=[failing]))
    with Session(engine) as s:
        first = s.exec(select(Finding)).one()
    post_report(client, agent, host_report(agent.agent_id, results=[failing]))
    from collector.models.findings import FindingEvent

    with Session(engine) as s:
        again = s.exec(select(Finding)).one()
        events = s.exec(select(FindingEvent.kind)).all()
    assert again.status == "open" and again.last_seen_at > first.last_seen_at
    assert events == ["opened"]  # seen again, nothing new to record
    # A later change of the same result goes through in full: the evidence event is recorded.
    changed = CheckResult(check_id="host.firewall.enabled", status=FAIL, evidence="ufw removed")
    post_report(client, agent, host_report(agent.agent_id, results=[changed]))
    with Session(engine) as s:
        assert sorted(s.exec(select(FindingEvent.kind)).all()) == ["evidence", "opened"]
        assert s.exec(select(Finding)).one().evidence == "ufw removed"
