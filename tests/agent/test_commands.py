"""The agent's commands as a user (and ``wardwatch up``) runs them: real processes, a real collector."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

from tests.agent.support import LiveCollector, agent_env, wardwatch


def _enroll(live: LiveCollector, state: Path) -> dict[str, str]:
    env = agent_env(state, WARDWATCH_AGENT_COLLECTOR_URL=live.url)
    done = wardwatch(
        "agent",
        "enroll",
        "--collector",
        live.url,
        "--secret",
        live.secret,
        "--state-dir",
        str(state),
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert live.secret not in done.stdout + done.stderr
    return env


def test_collect_json_prints_a_report_with_check_results(tmp_path: Path) -> None:
    done = wardwatch("agent", "collect", "--json", env=agent_env(tmp_path / "state"))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["kind"] == "full"
    assert report["facts"]["system"]["hostname"]
    assert report["facts"]["memory"]["total_bytes"] > 0
    assert "results" in report and isinstance(report["results"], list)


def test_enroll_keeps_the_key_private_and_run_once_delivers_full_then_delta(
    live_collector: LiveCollector, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    env = _enroll(live_collector, state)
    ident = state / "agent.json"
    assert stat.S_IMODE(ident.stat().st_mode) == 0o600
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    key = json.loads(ident.read_text())["agent_key"]

    first = wardwatch("agent", "run", "--once", "--state-dir", str(state), env=env)
    assert first.returncode == 0, first.stderr
    assert key not in first.stdout + first.stderr
    second = wardwatch("agent", "run", "--once", "--state-dir", str(state), env=env)
    assert second.returncode == 0, second.stderr
    assert live_collector.kinds() == ["full", "delta"]

    status = wardwatch("agent", "status", "--json", "--state-dir", str(state), env=env)
    data = json.loads(status.stdout)
    assert data["enrolled"] and data["spool"]["depth"] == 0
    assert data["last_success_at"] and data["last_error"] is None


def test_a_delta_on_an_unknown_base_is_followed_by_a_full_report(
    live_collector: LiveCollector, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    env = _enroll(live_collector, state)
    assert wardwatch("agent", "run", "--once", env=env).returncode == 0
    baseline = json.loads((state / "baseline.json").read_text())
    baseline["report_id"] = str(uuid.uuid4())  # a base the collector never saw
    (state / "baseline.json").write_text(json.dumps(baseline))
    done = wardwatch("agent", "run", "--once", env=env)
    assert done.returncode == 0, done.stderr
    assert live_collector.kinds() == ["full", "full"]


def test_run_reports_at_once_then_on_schedule_and_stops_on_sigterm(
    live_collector: LiveCollector, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    env = _enroll(live_collector, state)
    env["WARDWATCH_AGENT_INTERVALS__HEARTBEAT"] = "1"
    proc = subprocess.Popen(
        [sys.executable, "-m", "collector.cli", "agent", "run", "--state-dir", str(state)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        # Each cycle starts a Python child: on a loaded 2-core machine three take well over 30 s.
        deadline = time.monotonic() + 90
        # Heartbeats leave no raw report: they move the agent's last-seen time past the full report.
        seen: set[str | None] = set()
        while time.monotonic() < deadline and not (live_collector.report_count() and len(seen) >= 3):
            if live_collector.heard_after_last_report():
                seen.add(live_collector.agent_seen())
            time.sleep(0.2)
        assert live_collector.kinds()[:1] == ["full"]
        assert len(seen) >= 3, seen
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    status = json.loads(wardwatch("agent", "status", "--json", env=env).stdout)
    assert status["spool"]["depth"] == 0


def test_wrong_secret_is_a_clear_error(live_collector: LiveCollector, tmp_path: Path) -> None:
    env = agent_env(tmp_path / "state")
    done = wardwatch("agent", "enroll", "--collector", live_collector.url, "--secret", "nope", env=env)
    assert done.returncode == 1
    assert "enroll secret" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "state" / "agent.json").exists()


def test_run_once_with_the_collector_down_keeps_the_report_and_says_so(
    live_collector: LiveCollector, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    env = _enroll(live_collector, state)
    live_collector.stop()
    env["WARDWATCH_AGENT_DELIVERY__ONCE_ATTEMPTS"] = "1"
    done = wardwatch("agent", "run", "--once", env=env)
    assert done.returncode == 1 and "cannot connect" in done.stderr
    status = wardwatch("agent", "status", env=env)
    assert "1 report(s)" in status.stdout and "cannot connect" in status.stdout
    assert os.path.exists(state / "spool.db")


def test_status_reads_a_spool_given_as_a_relative_path_without_changing_it(tmp_path: Path) -> None:
    from agent.spool import Spool
    from tests.agent.support import small_report

    state = tmp_path / "state dir é"
    with Spool.in_state_dir(state) as spool:
        rid, body = small_report("a1")
        spool.enqueue(body, report_id=rid, agent_id="a1")
    before = (state / "spool.db").read_bytes()
    env = agent_env(Path(state.name))
    done = subprocess.run(
        [sys.executable, "-m", "collector.cli", "agent", "status"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "1 report(s)" in done.stdout
    assert (state / "spool.db").read_bytes() == before
