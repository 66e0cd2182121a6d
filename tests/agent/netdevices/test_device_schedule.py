"""`wardwatch agent run` polls the configured network devices on their own schedule."""

from __future__ import annotations

import json
from pathlib import Path

from agent.config import load_settings
from agent.netdevices.capability import NETDEVICES as DEVICES_CAPABILITY
from agent.runner import AgentRunner
from agent.spool import Spool

DEVICES = DEVICES_CAPABILITY.name


def _list(path: Path, dev) -> Path:  # type: ignore[no-untyped-def]
    path.write_text(
        "[[devices]]\n"
        'name = "xa-a-core"\nhost = "127.0.0.1"\n'
        f'port = {dev.port}\nplatform = "auto"\nsite = "XA-A"\n'
        f'username = "{dev.username}"\npassword_env = "SCHED_PW"\n'
    )
    return path


def _scheduled(runner: AgentRunner) -> dict[str, float]:
    runner.stop_event.set()  # run_forever sets up the schedule, then stops before its first step
    runner.run_forever()
    return runner.schedule.next_at


def test_run_polls_the_device_list_and_spools_one_report_per_device(sim, tmp_path, monkeypatch):
    dev = sim("ios_weak")
    monkeypatch.setenv("SCHED_PW", dev.password)
    settings = load_settings(
        None,
        state_dir=tmp_path / "state",
        devices={"devices_file": _list(tmp_path / "devices.toml", dev), "interval_seconds": 7200},
    )
    runner = AgentRunner(settings)
    try:
        assert runner.schedule.intervals[DEVICES] == 7200
        assert DEVICES in _scheduled(runner)  # first poll due at start (never polled before)
        assert runner.collect_once([DEVICES], 1000.0) == 1
        assert runner.status.last_run[DEVICES] == 1000.0
        assert runner.schedule.next_at[DEVICES] >= 1000.0 + 7200
    finally:
        runner.close()
    spool = Spool.in_state_dir(tmp_path / "state", max_bytes=10**8, max_age_seconds=86400)
    try:
        [item] = spool.peek(10)
    finally:
        spool.close()
    report = item.report()
    assert item.subject == "device:xa-a-core"
    assert report["subject"]["kind"] == "network_device"
    assert report["facts"]["device"]["os_version"]
    assert any(r["check_id"] == "netdev.poll_ok" and r["status"] == "pass" for r in report["results"])
    assert dev.password not in json.dumps(report)


def test_without_a_device_list_nothing_is_polled(tmp_path):
    settings = load_settings(None, state_dir=tmp_path / "state")
    runner = AgentRunner(settings)
    try:
        assert runner.schedule.intervals[DEVICES] == settings.intervals.devices
        assert DEVICES not in _scheduled(runner)
    finally:
        runner.close()
