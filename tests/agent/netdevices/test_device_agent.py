"""The agent side: device list, encrypted credential store, poll_devices and `wardwatch agent poll`."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from typer.testing import CliRunner

from agent.config import load_settings
from agent.netdevices.config import DeviceListError, NetDevicesConfig, load_device_list
from agent.netdevices.credentials import CredentialError, CredentialStore, create_key, load_key, main
from agent.netdevices.poller import poll_devices
from inventory.report import CheckStatus


def write_list(path: Path, *devices: dict) -> Path:
    lines = []
    for d in devices:
        lines.append("[[devices]]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in d.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def sim_entry(dev, name: str, **extra) -> dict:
    return {"name": name, "host": "127.0.0.1", "port": dev.port, "platform": "auto", "site": "XA-A",
            "username": dev.username, **extra}  # fmt: skip


# ---- device list ------------------------------------------------------------------------------


def test_device_list_parses_and_names_bad_entries(tmp_path):
    ok = write_list(
        tmp_path / "d.toml",
        {"name": "r1", "host": "10.0.0.1", "username": "u", "password_env": "R1_PW"},
        {
            "name": "sw1",
            "host": "10.0.0.2",
            "port": 2222,
            "platform": "cisco_ios",
            "username": "u",
            "credential": "sw1",
        },
    )
    entries = load_device_list(ok)
    assert [(e.name, e.port, e.platform) for e in entries] == [("r1", 22, "auto"), ("sw1", 2222, "cisco_ios")]

    bad = write_list(
        tmp_path / "bad.toml", {"name": "r1", "host": "10.0.0.1", "username": "u", "platform": "cisco"}
    )
    with pytest.raises(DeviceListError, match=r"bad.toml: device #1 \(r1\): platform"):
        load_device_list(bad)
    inline = write_list(
        tmp_path / "inline.toml", {"name": "r1", "host": "h", "username": "u", "password": "hunter2"}
    )
    with pytest.raises(DeviceListError) as exc:
        load_device_list(inline)
    assert "password_env or credential" in str(exc.value) and "hunter2" not in str(exc.value)
    both = write_list(tmp_path / "both.toml", {"name": "r1", "host": "h", "username": "u"})
    with pytest.raises(DeviceListError, match="exactly one of password_env or credential"):
        load_device_list(both)
    with pytest.raises(DeviceListError, match="not found"):
        load_device_list(tmp_path / "missing.toml")


# ---- credential store -------------------------------------------------------------------------


def test_credential_store_round_trip_is_encrypted_and_0600(tmp_path):
    cfg = NetDevicesConfig(key_file=tmp_path / "k.key", credential_store=tmp_path / "c.json")
    create_key(cfg.key_path(tmp_path))
    assert stat.S_IMODE((tmp_path / "k.key").stat().st_mode) == 0o600
    key = load_key(cfg, tmp_path, env={})
    store = CredentialStore(cfg.store_path(tmp_path), key)
    store.set("r1", "Sup3r-Secret!")
    assert store.get("r1") == "Sup3r-Secret!"
    raw = (tmp_path / "c.json").read_text()
    assert "Sup3r-Secret!" not in raw and "r1" in raw
    assert stat.S_IMODE((tmp_path / "c.json").stat().st_mode) == 0o600
    other = CredentialStore(cfg.store_path(tmp_path), Fernet.generate_key())
    with pytest.raises(CredentialError, match="does not decrypt"):
        other.get("r1")
    with pytest.raises(CredentialError, match="no entry 'nope'"):
        store.get("nope")


def test_key_file_readable_by_others_is_refused(tmp_path):
    cfg = NetDevicesConfig(key_file=tmp_path / "k.key")
    create_key(cfg.key_path(tmp_path))
    os.chmod(tmp_path / "k.key", 0o644)
    with pytest.raises(CredentialError, match="readable by others"):
        load_key(cfg, tmp_path, env={})


def test_key_from_environment_wins_and_is_validated(tmp_path):
    cfg = NetDevicesConfig()
    key = Fernet.generate_key()
    assert load_key(cfg, tmp_path, env={"WARDWATCH_DEVICES_KEY": key.decode()}) == key
    with pytest.raises(CredentialError, match="not hold a valid key"):
        load_key(cfg, tmp_path, env={"WARDWATCH_DEVICES_KEY": "short"})


def test_credentials_cli_sets_and_lists(tmp_path, monkeypatch, capsys):
    conf = tmp_path / "agent.toml"
    conf.write_text(f'state_dir = "{tmp_path}"\n')
    assert main(["--config", str(conf), "init-key"]) == 0
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("Pa55-word\n"))
    assert main(["--config", str(conf), "set", "r1", "--stdin"]) == 0
    assert main(["--config", str(conf), "list"]) == 0
    out = capsys.readouterr().out
    assert "r1" in out and "Pa55-word" not in out


# ---- polling ----------------------------------------------------------------------------------


@pytest.fixture
def agent_env(tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # the summary table at a normal terminal width
    monkeypatch.setenv("WARDWATCH_DEVICES_KEY", Fernet.generate_key().decode())
    return tmp_path


def test_poll_devices_gives_one_network_device_report_each(sim, agent_env, monkeypatch):
    ios, ros = sim("ios_weak"), sim("routeros_hex_v6")
    monkeypatch.setenv("IOS_PW", ios.password)
    settings = load_settings(None, state_dir=agent_env)
    store = CredentialStore(
        settings.netdevices.store_path(agent_env), load_key(settings.netdevices, agent_env)
    )
    store.set("hex", ros.password)
    devices = write_list(
        agent_env / "devices.toml",
        sim_entry(ios, "xa-a-core", password_env="IOS_PW"),
        sim_entry(ros, "xa-a-edge", credential="hex"),
    )
    reports = poll_devices(settings, devices_file=devices)
    assert [r.subject.device.name for r in reports] == ["xa-a-core", "xa-a-edge"]
    for r in reports:
        assert r.subject.kind == "network_device" and r.subject.site == "XA-A"
        assert r.modules == ["devices"]
        assert r.results and all(x.check_id.startswith("netdev.") for x in r.results)
        body = r.model_dump_json()
        assert ios.password not in body and ros.password not in body
    by_check = {x.check_id: x.status for x in reports[0].results}
    assert by_check["netdev.poll_ok"] == CheckStatus.PASS
    assert by_check["netdev.enable_secret"] == CheckStatus.FAIL
    assert by_check["netdev.reversible_passwords"] == CheckStatus.FAIL
    assert by_check["netdev.firmware_minimum"] == CheckStatus.FAIL  # 12.2(54)SG1
    assert by_check["netdev.dns_open_resolver"] == CheckStatus.NOT_APPLICABLE
    edge = {x.check_id: x.status for x in reports[1].results}
    assert edge["netdev.dns_open_resolver"] == CheckStatus.FAIL
    assert edge["netdev.firmware_minimum"] == CheckStatus.FAIL  # 6.48.6
    assert edge["netdev.snmp_rw_community"] == CheckStatus.FAIL
    assert reports[1].facts.device.os_version == "6.48.6"
    assert (agent_env / "devices_known_hosts").exists()


def test_missing_password_env_becomes_a_failed_poll_not_a_crash(agent_env):
    settings = load_settings(None, state_dir=agent_env)
    devices = write_list(
        agent_env / "d.toml",
        {"name": "r9", "host": "127.0.0.1", "username": "u", "password_env": "NOPE_NOT_SET"},
    )
    [report] = poll_devices(settings, devices_file=devices)
    assert report.facts.device.poll_errors[0].stage == "auth"
    assert "NOPE_NOT_SET" in report.facts.device.poll_errors[0].message
    poll_ok = next(x for x in report.results if x.check_id == "netdev.poll_ok")
    assert poll_ok.status == CheckStatus.FAIL


def test_cli_poll_json_and_table(sim, agent_env, monkeypatch):
    from agent.cli import app

    vrp, junos = sim("vrp_ar6280"), sim("junos_srx300")
    monkeypatch.setenv("DEV_PW", vrp.password)
    devices = write_list(
        agent_env / "devices.toml",
        sim_entry(vrp, "xa-b-router", password_env="DEV_PW"),
        sim_entry(junos, "xa-b-fw", password_env="DEV_PW"),
    )
    runner = CliRunner()
    res = runner.invoke(app, ["poll", "--devices", str(devices), "--json", "--state-dir", str(agent_env)])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert [d["subject"]["device"]["name"] for d in data] == ["xa-b-router", "xa-b-fw"]
    assert data[0]["facts"]["device"]["platform"] == "huawei_vrp"
    assert data[1]["facts"]["device"]["platform"] == "juniper_junos"
    assert data[0]["facts"]["device"]["config_hash"]
    assert any(r["check_id"] == "netdev.telnet" and r["status"] == "fail" for r in data[0]["results"])
    assert vrp.password not in res.output

    table = runner.invoke(app, ["poll", "--devices", str(devices), "--state-dir", str(agent_env)])
    assert table.exit_code == 0, table.output
    assert "xa-b-router" in table.stdout and "V300R019C10SPC300" in table.stdout and "ok" in table.stdout


def test_cli_poll_exit_code_1_when_a_device_is_unreachable(sim, agent_env, monkeypatch):
    from agent.cli import app

    dev = sim("ios_c9200")
    monkeypatch.setenv("DEV_PW", "wrong")
    devices = write_list(agent_env / "devices.toml", sim_entry(dev, "sw", password_env="DEV_PW"))
    res = CliRunner().invoke(app, ["poll", "--devices", str(devices), "--state-dir", str(agent_env)])
    assert res.exit_code == 1
    assert "auth error" in res.stdout


def test_cli_poll_without_a_device_list_says_how(agent_env):
    from agent.cli import app

    res = CliRunner().invoke(app, ["poll", "--state-dir", str(agent_env)])
    assert res.exit_code == 2
    assert "--devices" in res.output


def test_agent_commands_and_checks_do_not_load_paramiko_or_netmiko():
    import subprocess
    import sys

    code = (
        "import sys, agent.cli, agent.config, agent.netdevices.poller, checks.runner\n"
        "from checks.runner import run_checks; from inventory.facts import Facts\n"
        "run_checks(Facts(), subject='network_device', modules=['devices'])\n"
        "print(sorted(m for m in ('paramiko', 'netmiko', 'textfsm', 'ntc_templates') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
