"""poll_device end to end over SSH: auto detection, scrubbed backup, errors kept, host keys recorded."""

from __future__ import annotations

import hashlib
import stat

import pytest

from inventory.netdevices.poll import poll_device
from inventory.netdevices.scrub import REMOVED
from tests.inventory.netdevices.sshsim import host_key
from tests.inventory.netdevices.support import CONTRACT_PROFILES, FAST, target_for


@pytest.mark.parametrize("platform", sorted(CONTRACT_PROFILES))
def test_auto_detects_the_platform_and_backs_up_a_scrubbed_config(platform, sim, known_hosts):
    dev = sim(CONTRACT_PROFILES[platform])
    facts = poll_device(
        target_for(dev, platform="auto"), dev.password, known_hosts=known_hosts, timeouts=FAST
    )
    assert facts.platform == platform
    assert facts.ssh_banner and facts.ssh_banner.startswith("SSH-2.0-")
    assert [e for e in facts.poll_errors if e.stage != "parse"] == []
    assert facts.config and REMOVED in facts.config
    assert facts.config_hash == hashlib.sha256(facts.config.encode()).hexdigest()
    assert facts.audit is not None
    dumped = facts.model_dump_json()
    assert dev.password not in dumped
    # the configuration travels once (as config), not again among the raw outputs
    assert all("config" not in cmd and "export" not in cmd for cmd in facts.raw_outputs)
    assert facts.raw_outputs


def test_second_poll_gives_the_same_hash(sim, known_hosts):
    dev = sim("routeros_l009")
    a = poll_device(target_for(dev), dev.password, known_hosts=known_hosts, timeouts=FAST)
    b = poll_device(target_for(dev), dev.password, known_hosts=known_hosts, timeouts=FAST)
    assert a.config_hash == b.config_hash and a.config_hash


def test_host_key_recorded_on_first_use_then_a_change_is_reported(sim, known_hosts):
    dev = sim("junos_srx300")
    first = poll_device(target_for(dev), dev.password, known_hosts=known_hosts, timeouts=FAST)
    assert first.host_key_fingerprint
    assert known_hosts.path.exists()
    assert stat.S_IMODE(known_hosts.path.stat().st_mode) == 0o600
    assert f"[127.0.0.1]:{dev.port} ssh-rsa " in known_hosts.path.read_text()

    dev.replace_key(host_key(1))
    second = poll_device(target_for(dev), dev.password, known_hosts=known_hosts, timeouts=FAST)
    assert [e.stage for e in second.poll_errors] == ["hostkey"]
    assert first.host_key_fingerprint in second.poll_errors[0].message
    assert second.config is None and second.audit is None
    assert not second.reachable


def test_wrong_password_is_reported_without_the_password(sim, known_hosts):
    dev = sim("vrp_ar6280")
    facts = poll_device(target_for(dev), "Wr0ng-Pass", known_hosts=known_hosts, timeouts=FAST)
    assert [e.stage for e in facts.poll_errors] == ["auth"]
    assert "Wr0ng-Pass" not in facts.model_dump_json()


def test_unknown_banner_with_auto_is_a_detect_error(sim, known_hosts):
    dev = sim("ios_c9200", banner="SSH-2.0-dropbear_2022.83")
    facts = poll_device(
        target_for(dev, platform="auto"), dev.password, known_hosts=known_hosts, timeouts=FAST
    )
    assert [e.stage for e in facts.poll_errors] == ["detect"]
    assert "dropbear" in facts.poll_errors[0].message


def test_connection_refused_is_a_connect_error(known_hosts, sim):
    dev = sim("ios_c9200")
    dev.close()
    facts = poll_device(target_for(dev, platform="auto"), "x", known_hosts=known_hosts, timeouts=FAST)
    assert [e.stage for e in facts.poll_errors] == ["connect"]


def test_dropped_connection_keeps_the_facts_read_before(sim, known_hosts):
    dev = sim("routeros_l009", drop_on="/export show-sensitive")
    facts = poll_device(target_for(dev), dev.password, known_hosts=known_hosts, timeouts=FAST)
    assert facts.os_version == "7.15.2" and facts.serial_number
    assert [e.stage for e in facts.poll_errors] == ["command"]
    assert facts.config is None
