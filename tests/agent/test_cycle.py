"""Report building (full, delta, heartbeat), the schedule with splay, and the lean agent process."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from pathlib import Path

from agent.cycle import Collected, build_report, section_hashes
from agent.protocol import SCHEMA_VERSION as WIRE_SCHEMA_VERSION
from agent.protocol import heartbeat_json
from agent.schedule import Schedule
from agent.state import Baseline
from inventory.facts import Facts, MemoryFacts, OsFacts, SoftwareFacts, SystemFacts
from inventory.report import SCHEMA_VERSION, HostIdentity, Report, section_hash


def _collected(free: int = 1000, software: int = 300) -> Collected:
    facts = Facts(
        system=SystemFacts(hostname="pc-01", serial="S1"),
        os=OsFacts(family="linux", name="Debian"),
        memory=MemoryFacts(total_bytes=4 << 30, available_bytes=free),
        software=[SoftwareFacts(name=f"pkg{i}", version="1.0") for i in range(software)],
    )
    return Collected(facts, [], ["checks"], "pc-01", HostIdentity(machine_id="m1", serial="S1"))


def test_delta_sends_unchanged_sections_as_the_hash_the_collector_computes() -> None:
    full = build_report(_collected(), agent_id="a1")
    assert full.kind == "full" and set(full.sections) == {"system", "os", "memory", "software"}
    # The hashes are the collector's: computed from the parsed report, as ingest does.
    parsed = Report.model_validate_json(full.body)
    assert full.sections == {k: section_hash(v) for k, v in parsed.present_sections().items()}

    baseline = Baseline(report_id=full.report_id, hashes=full.sections)
    delta = build_report(_collected(free=2000), agent_id="a1", baseline=baseline, full=False)
    assert delta.kind == "delta"
    assert delta.report.base_report_id is not None and str(delta.report.base_report_id) == full.report_id
    assert set(delta.report.partial) == {"system", "os", "software"}
    assert delta.report.partial["software"] == full.sections["software"]
    assert set(delta.sections) == {"memory"}  # only the changed section travels in full
    assert len(delta.body) < len(full.body) / 5
    assert section_hashes(delta.body) == delta.sections


def test_without_a_baseline_or_when_asked_the_report_is_full() -> None:
    assert build_report(_collected(), agent_id="a1", baseline=Baseline(), full=False).kind == "full"
    b = build_report(_collected(), agent_id="a1")
    baseline = Baseline(report_id=b.report_id, hashes=b.sections)
    assert build_report(_collected(), agent_id="a1", baseline=baseline, full=True).kind == "full"


def test_heartbeat_is_a_valid_report_built_without_pydantic() -> None:
    assert WIRE_SCHEMA_VERSION == SCHEMA_VERSION
    rid, body = heartbeat_json(agent_id="a1", hostname="pc-01", identity={"machine_id": "m1"})
    report = Report.model_validate_json(body)
    assert str(report.report_id) == rid and report.kind == "heartbeat"
    assert report.subject.host is not None and report.subject.host.machine_id == "m1"


def test_heartbeats_tell_the_collector_about_quarantined_reports(tmp_path: Path) -> None:
    from agent.runner import AgentRunner
    from tests.agent.support import agent_settings, small_report

    runner = AgentRunner(agent_settings(tmp_path / "state"))
    spool = runner.spool
    assert spool is not None

    def heartbeat() -> Report:
        assert runner.collect_once(["heartbeat"], time.time()) == 1
        return Report.model_validate(spool.peek(100)[-1].report())

    assert heartbeat().quarantine is None  # nothing to say
    rid, body = small_report("a1")
    spool.enqueue(body, report_id=rid, agent_id="a1")
    # A reason quoting a proxy's answer may hold control characters; the collector refuses NUL.
    seq = next(i.seq for i in spool.peek(100) if i.report_id == rid)
    spool.quarantine(seq, "report: collector refused it (422): bad\x00\x1b[31m")
    note = heartbeat().quarantine
    assert note is not None and note.count == 1
    (q,) = note.recent
    assert q.report_id == rid and q.kind == "full" and q.subject == "host"
    assert q.reason.startswith("report: collector refused it (422): bad") and "\x00" not in q.reason
    spool.db.execute("DELETE FROM quarantine")  # a technician emptied it
    cleared = heartbeat().quarantine
    assert cleared is not None and cleared.count == 0  # said once, so the device page clears
    assert heartbeat().quarantine is None
    runner.close()


def test_schedule_intervals_and_splay() -> None:
    s = Schedule({"heartbeat": 300, "inventory": 3600}, splay=120, rng=random.Random(7))
    s.run_now("inventory", 1000)
    s.done("heartbeat", 1000)
    assert s.due(1000) == ["inventory"]
    s.done("inventory", 1000)
    assert 1300 <= s.next_at["heartbeat"] <= 1330  # splay capped at a tenth of the interval
    assert 4600 <= s.next_at["inventory"] <= 4720
    assert s.next_wakeup() == s.next_at["heartbeat"]
    s.resume("inventory", last_run=900, now=1000)
    assert s.next_at["inventory"] == 4500


def test_the_running_agent_stays_lean(tmp_path: Path) -> None:
    code = (
        "import sys, agent.runner, agent.spool, agent.state, agent.schedule;"
        "print(sorted(m for m in ('pydantic', 'httpx', 'inventory.report', 'checks', 'fastapi', 'sqlalchemy',"
        " 'scapy', 'paramiko', 'pyhanko', 'netmiko') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out.replace("'", '"')) == []


def test_a_baseline_without_results_makes_a_delta_carry_every_result() -> None:
    # A baseline saved by an older agent (or after a report the collector was not told about)
    # does not say which results the collector holds: the delta carries them all, as before.
    from inventory.report import CheckResult, CheckStatus

    result = CheckResult(check_id="host.firewall.enabled", status=CheckStatus.PASS)
    first = _collected()
    first.results = [result]
    full = build_report(first, agent_id="a1")
    baseline = Baseline(report_id=full.report_id, hashes=full.sections)
    later = _collected(free=2000)
    later.results = [result]
    delta = build_report(later, agent_id="a1", baseline=baseline, full=False)
    assert delta.kind == "delta" and delta.report.results == [result]
    assert delta.report.results_hash is None and delta.report.results_gone == []
