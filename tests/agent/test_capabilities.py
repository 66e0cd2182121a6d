"""The capability registry: every capability is loaded, configurable, reachable from the CLI and run
by its schedule; the supervisor/worker protocol carries what each side needs, typed."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from typer.testing import CliRunner

from agent.capabilities import CAPABILITIES
from agent.config import AgentSettings, load_settings
from agent.protocol import CollectResult, SettingsMessage, WorkerExit
from agent.runner import AgentRunner
from agent.spool import Spool
from tests.agent.support import agent_settings

NAMES = [c.name for c in CAPABILITIES]


def test_every_capability_is_registered_once_with_its_table() -> None:
    assert len(set(NAMES)) == len(NAMES) and {"certs", "lan", "devices"} <= set(NAMES)
    for cap in CAPABILITIES:
        field = AgentSettings.model_fields[cap.section]
        assert field.annotation is cap.config(), cap.name
        assert isinstance(cap.config_of(AgentSettings()), cap.config())


def test_a_capability_table_is_read_from_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "agent.toml"
    config.write_text(
        "[lan]\ninterval_seconds = 7200\n[netdevices]\ndevices_file = 'devices.toml'\n"
        "[certificates]\nenabled = false\n"
    )
    settings = load_settings(config, state_dir=tmp_path / "state")
    schedules = {c.name: c.schedule(settings) for c in CAPABILITIES}
    assert schedules["lan"].interval == 7200 and schedules["lan"].enabled
    assert schedules["devices"].enabled and not schedules["devices"].in_host_report
    assert not schedules["certs"].enabled and schedules["certs"].in_host_report


def test_the_old_table_names_are_still_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Agent configurations written before the rename ([devices], [certs], their variables) still
    configure the capability; a key also given under the new name takes the new name's value."""
    from agent.certificates.capability import CERTIFICATES
    from agent.netdevices.capability import NETDEVICES

    config = tmp_path / "agent.toml"
    config.write_text(
        "[devices]\ndevices_file = 'devices.toml'\nconcurrency = 5\nconnect_timeout = 4\n"
        "[netdevices]\nconcurrency = 7\n"
        "[certs]\nexpiring_days = 45\n"
    )
    monkeypatch.setenv("WARDWATCH_AGENT_CERTS__ENABLED", "false")
    settings = load_settings(config, state_dir=tmp_path / "state")
    devices = NETDEVICES.config_of(settings)
    assert devices.devices_file == Path("devices.toml") and devices.connect_timeout == 4
    assert devices.concurrency == 7  # the new name wins
    certificates = CERTIFICATES.config_of(settings)
    assert certificates.expiring_days == 45 and certificates.enabled is False
    schedules = {c.name: c.schedule(settings) for c in CAPABILITIES}
    assert schedules["devices"].enabled and not schedules["certs"].enabled
    # What the worker child is given carries each table once, under its new name.
    dumped = settings.model_dump()
    assert "devices" not in dumped and "certs" not in dumped
    assert dumped["netdevices"]["concurrency"] == 7 and dumped["certificates"]["expiring_days"] == 45


def test_the_old_command_names_still_run_and_stay_out_of_the_help(tmp_path: Path) -> None:
    from collector.cli import app as root

    runner = CliRunner()
    missing = str(tmp_path / "khong-co")
    new = runner.invoke(root, ["agent", "certificates", missing], env={"COLUMNS": "200"})
    old = runner.invoke(root, ["agent", "certs", missing], env={"COLUMNS": "200"})
    assert new.exit_code == old.exit_code == 2
    assert "not a file, a folder, host:port or an https:// URL" in old.output
    listed = runner.invoke(root, ["agent", "--help"], env={"COLUMNS": "200"}).output
    assert "certificates" in listed and " certs " not in listed


@pytest.mark.parametrize("name", NAMES)
def test_every_capability_is_reachable_from_the_cli(name: str) -> None:
    from collector.cli import app as root

    cap = next(c for c in CAPABILITIES if c.name == name)
    res = CliRunner().invoke(root, ["agent", cap.command_name, "--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    first_line = (cap.command.__doc__ or "").strip().splitlines()[0]
    assert first_line[:40] in " ".join(res.output.split())


def test_the_cli_process_and_the_supervisor_stay_free_of_pydantic() -> None:
    """``wardwatch agent run`` reads the registry (commands) and the protocol: both stay light."""
    code = (
        "import sys, collector.cli, agent.cli, agent.capabilities, agent.protocol, agent.runner;"
        "print([m for m in ('pydantic', 'agent.config', 'inventory.report', 'httpx') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def _certificate(folder: Path) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Chu ky so UBND xa")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True)
    path = folder / "ubnd.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def _spooled(state: Path) -> list[dict[str, Any]]:
    spool = Spool.in_state_dir(state, max_bytes=10**8, max_age_seconds=86400)
    try:
        return [item.report() for item in spool.peek(100)]
    finally:
        spool.close()


def test_the_certificates_schedule_runs_the_certificates_capability(tmp_path: Path) -> None:
    """The earlier silent failure: due certificates ran a worker that collected none."""
    state = tmp_path / "state"
    _certificate(tmp_path / "certs")
    settings = agent_settings(
        state,
        intervals={"splay": 0, "certs": 3 * 3600},
        certs={
            "folders": [str(tmp_path / "certs")],
            "include_system_store": False,
            "include_personal_stores": False,
            "ocsp": False,
        },
    )
    runner = AgentRunner(settings)
    try:
        assert runner.schedule.intervals["certs"] == 3 * 3600
        runner.stop_event.set()  # run_forever sets the schedule up, then stops before its first step
        runner.run_forever()
        assert "certs" in runner.schedule.next_at
        now = time.time()
        assert runner.collect_once(["certs"], now) == 1
        assert runner.status.last_run["certs"] == now
        assert runner.schedule.next_at["certs"] >= now + 3 * 3600
    finally:
        runner.close()
    [report] = _spooled(state)
    names = [c.get("subject_cn") for c in report["facts"]["certificates"]["certificates"]]
    assert names == ["Chu ky so UBND xa"]
    # ... and its results: the certificate checks ran, and the report says whose results it holds.
    assert report["modules"] == ["certs"]
    assert report["results"] and all(r["check_id"].startswith(("cert.", "doc.")) for r in report["results"])


def test_a_disabled_capability_is_not_scheduled(tmp_path: Path) -> None:
    runner = AgentRunner(agent_settings(tmp_path / "state", certs={"enabled": False}))
    try:
        runner.stop_event.set()
        runner.run_forever()
        assert set(runner.schedule.next_at) == {"inventory", "checks", "heartbeat"}  # no lan, devices, certs
    finally:
        runner.close()


def test_the_lan_schedule_sends_the_saved_scan(tmp_path: Path) -> None:
    """[lan] interval_seconds puts the scan on the supervisor's schedule; a due run reports it."""
    from agent.lan.store import save_scan
    from inventory.lan import LanHost, LanScanFacts

    state = tmp_path / "state"
    scan = LanScanFacts(
        cidr="198.18.0.0/24",
        privileged=True,
        finished_at=dt.datetime.now(dt.UTC),  # recent: not due for a new scan yet
        hosts=[LanHost(ip="198.18.0.30", mac="00:15:5d:01:02:03")],
    )
    save_scan(state, scan)
    runner = AgentRunner(agent_settings(state, lan={"interval_seconds": 3600}, certs={"enabled": False}))
    try:
        runner.stop_event.set()
        runner.run_forever()
        assert runner.schedule.intervals["lan"] == 3600 and "lan" in runner.schedule.next_at
        assert runner.collect_once(["lan"], time.time()) == 1
    finally:
        runner.close()
    [report] = _spooled(state)
    facts = report["facts"]
    assert isinstance(facts, dict) and facts["network_scan"]["cidr"] == "198.18.0.0/24"
    assert report["modules"] == ["lan"]
    assert all(r["check_id"].startswith("lan.") for r in report.get("results", []))


def test_the_worker_answers_in_the_protocol(tmp_path: Path) -> None:
    bad = tmp_path / "agent.toml"
    bad.write_text("[delivery]\nbatch_size = 0\n")
    done = subprocess.run(
        [sys.executable, "-m", "agent.worker", "settings", "--config", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == WorkerExit.CONFIG and "batch_size" in done.stderr

    good = tmp_path / "good.toml"
    good.write_text("[devices]\ninterval_seconds = 900\ndevices_file = 'd.toml'\n")  # the old table name
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "agent.worker",
            "settings",
            "--config",
            str(good),
            "--state-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    settings = SettingsMessage.from_json(done.stdout).supervisor_settings()
    assert settings.state_dir == tmp_path and settings.capability("devices") is not None
    assert settings.enabled() == ["certs", "devices"]
    assert json.loads(settings.worker_input)["netdevices"]["interval_seconds"] == 900

    result = CollectResult(
        spooled=2, kind="full", identity={"machine_id": "m1"}, usage={"peak_self_mb": 40.5}
    )
    text = result.to_json()
    assert json.loads(text)["peak_self_mb"] == 40.5  # flat, as bench/agent_footprint.py reads it
    assert CollectResult.from_json(text) == result


def test_a_failed_scheduled_scan_is_told_and_the_last_scan_still_goes_out(tmp_path: Path) -> None:
    from agent.cycle import collect_host
    from agent.lan.store import save_scan
    from inventory.lan import LanScanFacts

    old = LanScanFacts(cidr="192.168.1.0/24", finished_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=2))
    save_scan(tmp_path, old)
    # A public range is refused by the scan's safety rules before a packet is sent.
    settings = agent_settings(tmp_path, lan={"interval_seconds": 3600, "cidrs": ["8.8.8.0/24"]})
    collected = collect_host(settings, run={"lan"})
    assert collected.facts.network_scan == old
    assert "lan" in collected.modules
    assert any(p.startswith("LAN scan: ScanRefused") for p in collected.problems), collected.problems
