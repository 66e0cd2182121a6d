"""``wardwatch agent rotate-key`` against a real collector, and what the agent does around it; an agent
never reports network devices of another site (issue 13, parts 3 and 5)."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path

import httpx

from agent.delivery import Deliverer
from agent.keys import rotate_key
from agent.netdevices.config import DeviceEntry
from agent.netdevices.poller import own_site_entries, poll_devices
from agent.spool import Spool
from agent.state import AgentState
from tests.agent.support import LiveCollector, agent_env, agent_settings, small_report, wardwatch


def _me(live: LiveCollector, key: str) -> int:
    return httpx.get(f"{live.url}/api/v1/agents/me", headers={"Authorization": f"Bearer {key}"}).status_code


def _enroll(live: LiveCollector, state: Path) -> dict[str, str]:
    env = agent_env(state, WARDWATCH_AGENT_COLLECTOR_URL=live.url, WARDWATCH_ENROLL_SECRET=live.secret)
    done = wardwatch("agent", "enroll", "--collector", live.url, "--state-dir", str(state), env=env)
    assert done.returncode == 0, done.stderr
    env.pop("WARDWATCH_ENROLL_SECRET")
    return env


def test_rotate_key_command_replaces_the_key_and_the_old_one_stops_working(
    live_collector: LiveCollector, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    env = _enroll(live_collector, state)
    before = json.loads((state / "agent.json").read_text())
    assert _me(live_collector, before["agent_key"]) == 200

    done = wardwatch("agent", "rotate-key", "--state-dir", str(state), env=env)
    assert done.returncode == 0, done.stderr
    assert "key rotated; the old key no longer works" in done.stdout
    after = json.loads((state / "agent.json").read_text())
    assert after["agent_id"] == before["agent_id"] and after["agent_key"] != before["agent_key"]
    assert after["agent_key"] not in done.stdout + done.stderr
    assert stat.S_IMODE((state / "agent.json").stat().st_mode) == 0o600
    assert _me(live_collector, before["agent_key"]) == 401
    assert _me(live_collector, after["agent_key"]) == 200
    run = wardwatch("agent", "run", "--once", "--state-dir", str(state), env=env)
    assert run.returncode == 0, run.stderr
    assert live_collector.report_count() >= 1


def test_rotate_key_without_enrollment_says_so(tmp_path: Path) -> None:
    done = wardwatch(
        "agent", "rotate-key", "--state-dir", str(tmp_path / "none"), env=agent_env(tmp_path / "none")
    )
    assert done.returncode == 1 and "enroll first" in done.stderr


def test_a_flush_holding_the_old_key_picks_up_the_rotated_one_instead_of_re_enrolling(
    live_collector: LiveCollector, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    _enroll(live_collector, state)
    ident = AgentState.load(state)
    assert ident is not None
    settings = agent_settings(state, collector_url=live_collector.url, enroll_secret=live_collector.secret)
    with Spool.in_state_dir(state) as spool:
        for host in ("pc-a", "pc-a"):
            # Full reports: a heartbeat leaves no raw report row to count (it moves last-seen times).
            rid, body = small_report(ident.agent_id, hostname=host, kind="full")
            spool.enqueue(body, report_id=rid, agent_id=ident.agent_id, kind="full")

        def rotate_after_first(item: object, status: str) -> None:
            if not rotated:
                rotated.append(rotate_key(settings, state_dir=state))

        rotated: list[object] = []
        result = Deliverer(settings, spool, state_dir=state, on_ack=rotate_after_first).flush()
    assert result.error is None and result.sent == 2 and not result.reenrolled
    assert AgentState.load(state).agent_id == ident.agent_id  # type: ignore[union-attr]
    assert live_collector.report_count() == 2


def test_an_agent_skips_devices_of_another_site_in_its_list(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    def entry(name: str, site: str | None) -> DeviceEntry:
        return DeviceEntry(name=name, host="192.0.2.1", site=site, username="ww", password_env="X")

    entries = [entry("own", "A01"), entry("unnamed", None), entry("theirs", "B01")]
    with caplog.at_level(logging.WARNING):
        kept = own_site_entries(entries, "A01")
    assert [e.name for e in kept] == ["own", "unnamed"]
    assert "device theirs names site B01 but this agent is enrolled in site A01" in caplog.text
    assert own_site_entries(entries, None) == entries  # not enrolled yet: nothing to compare with

    state = tmp_path / "state"
    AgentState(agent_id="a-1", agent_key="k", collector_url="http://x", site="A01").save(state)
    devices = tmp_path / "devices.toml"
    devices.write_text(
        '[[devices]]\nname = "theirs"\nhost = "192.0.2.1"\nsite = "B01"\n'
        'username = "ww"\npassword_env = "X"\n'
    )
    assert poll_devices(agent_settings(state), devices_file=devices) == []
