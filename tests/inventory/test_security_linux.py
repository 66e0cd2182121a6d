"""Linux security facts read from recorded files and command output (tests/fixtures/security/linux)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from checks.runner import run_checks
from inventory.facts import Facts, OsFacts
from inventory.host.security import PARTS, collect_security_facts
from inventory.host.security.probe import Probe
from inventory.security import Listener, SecurityFacts

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "security" / "linux"
NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
# Parts that may be absent without a reason: the thing does not exist here (no graphical desktop).
ABSENT_OK = {"screen_lock"}


def recorded_probe(scenario: str) -> tuple[Probe, list[str]]:
    """A probe over the scenario's files; commands replay recorded stdout, and the calls are logged."""
    base = FIXTURES / scenario
    calls: list[str] = []

    def run(name: str, argv: Sequence[str], timeout: float) -> str | None:
        calls.append(name)
        path = base / "commands" / f"{name}.txt"
        return path.read_text(encoding="utf-8") if path.is_file() else None

    listeners = [Listener(**x) for x in json.loads((base / "listeners.json").read_text())]
    return Probe(root=base / "root", run=run, listeners=lambda: listeners, now=NOW), calls


def collect(scenario: str):  # type: ignore[no-untyped-def]
    probe, _ = recorded_probe(scenario)
    return collect_security_facts(probe, platform="linux")


def test_hardened_ubuntu_desktop() -> None:
    sec = collect("ubuntu-desktop")
    assert sec.errors == {}
    assert sec.firewall is not None
    assert (sec.firewall.product, sec.firewall.enabled, sec.firewall.default_inbound) == (
        "ufw",
        True,
        "block",
    )
    assert sec.firewall.rule_count == 3
    up = sec.updates
    assert up is not None and up.automatic is True and up.mechanism == "unattended-upgrades"
    # The latest apt run with an Upgrade/Install, across rotated logs (local time read as UTC here).
    assert up.last_update_at is not None and up.last_update_at.date().isoformat() == "2026-11-25"
    assert up.last_update_what == "apt-get install -y vlc"
    assert (up.pending_total, up.pending_security, up.reboot_required) == (1, 0, False)
    (clam,) = sec.antivirus.products  # type: ignore[union-attr]
    assert clam.name == "ClamAV" and clam.enabled is True
    assert clam.signature_updated_at == datetime(2026, 11, 25, 8, 32, tzinfo=UTC)
    acc = sec.accounts
    assert acc is not None and [a.name for a in acc.admins or []] == ["kythuat"]
    assert acc.guest_enabled is False and acc.builtin_admin_enabled is False and acc.uid0_accounts == ["root"]
    pw = sec.password_policy
    assert pw is not None
    assert (pw.min_length, pw.max_age_days, pw.complexity, pw.history) == (12, 90, True, 5)
    assert (pw.lockout_threshold, pw.lockout_duration_minutes) == (5, 15)
    assert sec.screen_lock is not None
    assert (sec.screen_lock.timeout_seconds, sec.screen_lock.lock_enabled) == (600, True)
    ssh = sec.remote_access.ssh  # type: ignore[union-attr]
    assert ssh is not None and ssh.enabled and ssh.root_login == "no" and ssh.password_auth is False
    assert ssh.listening == ["0.0.0.0:22", "[::]:22"]
    assert ssh.allowed_from == ["192.168.10.0/24", "fe80::/10"]
    assert sec.remote_access.rdp.enabled is False  # type: ignore[union-attr]
    assert sec.smb is not None and sec.smb.server_running is False and sec.smb.smb1_enabled is False
    assert sec.encryption is not None and sec.encryption.system_encrypted is True
    assert {v.name: v.encrypted for v in sec.encryption.volumes} == {"/boot": False, "/": True}
    assert sec.time_sync is not None
    assert (sec.time_sync.service, sec.time_sync.synchronized, sec.time_sync.source) == (
        "systemd-timesyncd",
        True,
        "ntp.ubuntu.com",
    )
    assert (sec.boot.uefi, sec.boot.secure_boot) == (True, True)  # type: ignore[union-attr]
    assert (sec.tpm.present, sec.tpm.version) == (True, "2.0")  # type: ignore[union-attr]


def test_legacy_debian_server() -> None:
    sec = collect("debian-legacy")
    assert sec.firewall is not None
    assert (sec.firewall.product, sec.firewall.enabled, sec.firewall.default_inbound) == (
        "iptables",
        False,
        "allow",
    )
    up = sec.updates
    assert up is not None and up.automatic is False
    assert up.last_update_at is not None and up.last_update_at.date().isoformat() == "2026-05-02"
    assert (up.pending_total, up.pending_security, up.reboot_required) == (4, 2, True)
    assert sec.antivirus is not None and sec.antivirus.products == []
    acc = sec.accounts
    assert acc is not None
    assert sorted(a.name for a in acc.admins or []) == ["admin1", "admin2", "admin3", "root"]
    assert [a.name for a in acc.admins or [] if a.enabled is False] == ["admin3"]
    assert acc.uid0_accounts == ["root", "toor"] and acc.guest_enabled is True
    pw = sec.password_policy
    assert pw is not None and pw.never_expires is True and pw.lockout_threshold == 0
    # pam_unix.so without minlen= enforces its default of 6 characters.
    assert pw.min_length == 6 and pw.complexity is False and pw.history == 0
    # A server without a graphical desktop: no screen to lock, so not applicable (not a blind spot).
    assert "screen_lock" not in sec.errors and sec.screen_lock is None
    ssh = sec.remote_access.ssh  # type: ignore[union-attr]
    assert ssh is not None and ssh.root_login == "yes" and ssh.listening == ["0.0.0.0:22"]
    assert sec.smb is not None and sec.smb.smb1_enabled is True and sec.smb.min_protocol == "NT1"
    assert sec.encryption is not None and sec.encryption.system_encrypted is False
    assert (
        sec.time_sync is not None
        and sec.time_sync.service == "chronyd"
        and sec.time_sync.synchronized is False
    )
    assert (sec.boot.uefi, sec.boot.secure_boot) == (False, False)  # type: ignore[union-attr]
    assert sec.tpm is not None and sec.tpm.present is False


def _statuses(scenario: str, os: OsFacts) -> dict[str, str]:
    facts = Facts(os=os, security=collect(scenario))
    return {r.check_id: r.status.value for r in run_checks(facts, now=NOW, modules=["checks"])}


def test_checks_over_the_hardened_desktop_pass() -> None:
    got = _statuses("ubuntu-desktop", OsFacts(family="linux", name="Ubuntu", version="24.04.3 LTS"))
    failing = {k: v for k, v in got.items() if v == "fail"}
    assert failing == {}
    assert sum(v == "pass" for v in got.values()) >= 25


def test_checks_over_the_legacy_server_fail_where_a_technician_expects() -> None:
    got = _statuses("debian-legacy", OsFacts(family="linux", name="Debian GNU/Linux", version="11"))
    expect_fail = {
        "host.os.supported",
        "host.firewall.enabled",
        "host.firewall.default_inbound_block",
        "host.updates.automatic",
        "host.updates.recent",
        "host.updates.no_pending_security",
        "host.updates.no_pending_reboot",
        "host.antivirus.present",
        "host.accounts.admins_limited",
        "host.accounts.guest_disabled",
        "host.accounts.single_uid0",
        "host.password.min_length",
        "host.password.max_age",
        "host.password.lockout",
        "host.password.complexity",
        "host.remote.ssh_lan_only",
        "host.remote.ssh_root_login",
        "host.services.no_telnet",
        "host.services.no_ftp",
        "host.services.no_smb1",
        "host.services.no_vnc",
        "host.encryption.system_disk",
        "host.time.synchronized",
        "host.boot.secure_boot",
        "host.tpm.present",
    }
    assert {k for k, v in got.items() if v == "fail"} == expect_fail
    assert got["host.screenlock.timeout"] == "not_applicable"


def test_a_missing_tool_costs_only_its_part(tmp_path: Path) -> None:
    # An empty root and no commands at all: every part either says "not known" or records why.
    probe = Probe(root=tmp_path, run=lambda n, a, t: None, listeners=lambda: [], now=NOW)
    sec = collect_security_facts(probe, platform="linux")
    for part in PARTS:
        assert getattr(sec, part) is not None or part in sec.errors or part in ABSENT_OK, part
    assert "updates" in sec.errors and "apt or dnf" in sec.errors["updates"]
    # No firewall program at all is a fact (no firewall installed), not a part that could not be read.
    assert sec.firewall is not None and sec.firewall.product == "none" and "firewall" not in sec.errors


@pytest.mark.skipif(not Path("/etc/os-release").exists(), reason="needs a Linux system")
def test_runs_on_this_real_system() -> None:
    # Contract with the real system: no part may crash; unreadable parts name their reason.
    sec = collect_security_facts()
    assert sec.collected_at is None  # the report carries the time; the section stays stable
    assert sec.listening is not None
    for part in PARTS:
        assert getattr(sec, part) is not None or sec.errors.get(part) or part in ABSENT_OK, part
    assert not any(
        reason.startswith(("TypeError", "AttributeError", "KeyError")) for reason in sec.errors.values()
    )


def _firewall_probe(tmp_path: Path, tools: tuple[str, ...]) -> Probe:
    """A Debian PC whose firewall commands give nothing (absent, or refused without root)."""
    for tool in tools:
        path = tmp_path / "usr" / "sbin" / tool
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
    return Probe(root=tmp_path, run=lambda n, a, t: None, listeners=lambda: [], now=NOW)


def _firewall_verdicts(probe: Probe) -> dict[str, tuple[str, str]]:
    sec = collect_security_facts(probe, platform="linux", parts=("firewall",))
    facts = Facts(os=OsFacts(family="linux", name="Debian GNU/Linux", version="12"), security=sec)
    wanted = ("host.firewall.enabled", "host.firewall.default_inbound_block")
    return {
        r.check_id: (r.status.value, r.evidence) for r in run_checks(facts, now=NOW) if r.check_id in wanted
    }


def test_no_firewall_installed_is_a_failure_not_a_blind_spot(tmp_path: Path) -> None:
    """Neither nft nor iptables (nor ufw, firewalld) installed: the PC has no firewall and fails."""
    got = _firewall_verdicts(_firewall_probe(tmp_path, ()))
    assert got["host.firewall.enabled"][0] == "fail"
    assert "no firewall installed" in got["host.firewall.enabled"][1]
    assert got["host.firewall.default_inbound_block"][0] == "fail"


def test_firewall_without_root_is_unknown_never_a_pass(tmp_path: Path) -> None:
    """nft is installed but the agent runs without root: the state is unknown, and says why."""
    got = _firewall_verdicts(_firewall_probe(tmp_path, ("nft", "iptables")))
    assert got["host.firewall.enabled"][0] == "unknown"
    assert "need root" in got["host.firewall.enabled"][1]
    assert got["host.firewall.default_inbound_block"][0] == "unknown"


# Collects security parts as an agent that is not root does: a child process drops to nobody (when
# the tests run as root, as in CI) before it reads anything, with the probe's root, and psutil's
# /proc, inside ``root``. Imports happen first, so only the reads run without privilege.
_AS_NON_ROOT = r"""
import json, os, sys
from pathlib import Path
import psutil
from inventory.host.security import collect_security_facts, linux  # imported before the drop
from inventory.host.security.probe import Probe, psutil_listeners
from inventory.security import Listener
root, parts, recorded = sys.argv[1], tuple(sys.argv[2].split(",")), json.loads(sys.argv[3])
os.chdir(root)
psutil.PROCFS_PATH = "proc"
if os.geteuid() == 0:
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)
listeners = psutil_listeners if recorded is None else (lambda: [Listener(**x) for x in recorded])
probe = Probe(root=Path("."), run=lambda n, a, t: None, listeners=listeners)
print(collect_security_facts(probe, platform="linux", parts=parts).model_dump_json())
"""


def collect_as_non_root(
    root: Path, parts: tuple[str, ...], listeners: list[dict[str, object]] | None
) -> SecurityFacts:
    """``listeners`` None: psutil lists them from ``root/proc``, as the agent does on the host."""
    root.chmod(0o755)  # the child, once nobody, works inside it (relative paths, no parent to cross)
    out = subprocess.run(
        [sys.executable, "-c", _AS_NON_ROOT, str(root), ",".join(parts), json.dumps(listeners)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return SecurityFacts.model_validate_json(out.stdout)


def _write(root: Path, path: str, text: str, mode: int = 0o644) -> None:
    f = root / path.lstrip("/")
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text(text)
    f.chmod(mode)


def _linux_verdicts(sec: SecurityFacts, *ids: str) -> dict[str, tuple[str, str]]:
    facts = Facts(os=OsFacts(family="linux", name="Rocky Linux", version="9.4"), security=sec)
    return {r.check_id: (r.status.value, r.evidence) for r in run_checks(facts, now=NOW) if r.check_id in ids}


# sshd seen on port 22; a non-root agent does not see the owning process's name.
SSHD_LISTENING = [{"address": "0.0.0.0", "port": 22, "process": None}]


@pytest.mark.parametrize(
    ("unreadable", "readable"),
    [
        # RHEL/Fedora ship /etc/ssh/sshd_config 0600 root:root.
        ("/etc/ssh/sshd_config", {}),
        # CIS hardening: the main file readable, the drop-in that sets PermitRootLogin kept 0600.
        (
            "/etc/ssh/sshd_config.d/99-hardening.conf",
            {"/etc/ssh/sshd_config": "Include /etc/ssh/sshd_config.d/*.conf\n"},
        ),
    ],
)
def test_unreadable_sshd_config_leaves_root_login_unknown_not_prohibit_password(
    tmp_path: Path, unreadable: str, readable: dict[str, str]
) -> None:
    root = tmp_path / "root"
    _write(root, "/usr/sbin/sshd", "")
    for path, text in readable.items():
        _write(root, path, text)
    _write(root, unreadable, "PermitRootLogin yes\nPasswordAuthentication yes\n", mode=0o000)
    sec = collect_as_non_root(root, ("remote_access",), SSHD_LISTENING)
    ssh = sec.remote_access.ssh  # type: ignore[union-attr]
    assert ssh is not None and ssh.enabled is True and ssh.listening == ["0.0.0.0:22"]
    # Neither sshd's default (prohibit-password) nor a guess: unset, and the report says why.
    assert ssh.root_login is None and ssh.password_auth is None
    assert sec.errors["remote_access.ssh.root_login"] == f"cannot read {unreadable}: Permission denied"
    assert sec.errors["remote_access.ssh.password_auth"] == sec.errors["remote_access.ssh.root_login"]
    status, evidence = _linux_verdicts(sec, "host.remote.ssh_root_login")["host.remote.ssh_root_login"]
    assert status == "unknown"
    assert f"security.remote_access.ssh.root_login (cannot read {unreadable}: Permission denied)" in evidence

    # The same files readable: the agent sees PermitRootLogin yes and the check fails.
    (root / unreadable.lstrip("/")).chmod(0o644)
    sec = collect_as_non_root(root, ("remote_access",), SSHD_LISTENING)
    assert sec.remote_access.ssh.root_login == "yes"  # type: ignore[union-attr]
    assert not any(k.startswith("remote_access") for k in sec.errors)
    assert _linux_verdicts(sec, "host.remote.ssh_root_login")["host.remote.ssh_root_login"][0] == "fail"


def test_unreadable_sshd_config_with_nothing_on_port_22_leaves_ssh_unknown(tmp_path: Path) -> None:
    """The unread file may move sshd to another port: "nothing on 22" does not say SSH is off."""
    root = tmp_path / "root"
    _write(root, "/usr/sbin/sshd", "")
    _write(root, "/etc/ssh/sshd_config", "Port 2222\nPermitRootLogin yes\n", mode=0o000)
    sec = collect_as_non_root(root, ("remote_access",), [{"address": "0.0.0.0", "port": 2222}])
    ssh = sec.remote_access.ssh  # type: ignore[union-attr]
    assert ssh is not None and ssh.enabled is None
    assert "cannot read /etc/ssh/sshd_config" in sec.errors["remote_access.ssh.enabled"]
    got = _linux_verdicts(sec, "host.remote.ssh_lan_only", "host.remote.ssh_root_login")
    assert {k: v[0] for k, v in got.items()} == {
        "host.remote.ssh_lan_only": "unknown",
        "host.remote.ssh_root_login": "unknown",
    }


def test_listening_sockets_that_cannot_be_listed_are_unknown_not_nothing(tmp_path: Path) -> None:
    """psutil cannot read /proc/net/tcp: the agent does not know what listens, so no "no telnet" pass."""
    root = tmp_path / "root"
    header = (
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    )
    _write(root, "/proc/net/tcp", header, mode=0o000)
    _write(root, "/proc/net/tcp6", header, mode=0o000)
    sec = collect_as_non_root(root, ("listening", "smb", "remote_access"), None)
    assert sec.listening is None
    assert sec.errors["listening"].startswith("could not list listening sockets: ")
    assert "Permission denied" in sec.errors["listening"]
    # Whatever else is judged from the sockets is unset too, with the same reason.
    assert sec.smb is not None and sec.smb.server_running is None
    assert sec.errors["smb.server_running"] == sec.errors["listening"]
    assert sec.remote_access.rdp.enabled is None  # type: ignore[union-attr]
    got = _linux_verdicts(sec, "host.services.no_telnet", "host.services.no_vnc", "host.remote.rdp_lan_only")
    assert {k: v[0] for k, v in got.items()} == dict.fromkeys(got, "unknown")
    assert len(got) == 3
    assert "could not list listening sockets" in got["host.services.no_telnet"][1]

    # The same /proc readable and empty: nothing listens, which is a pass.
    for name in ("tcp", "tcp6"):
        (root / "proc" / "net" / name).chmod(0o644)
    sec = collect_as_non_root(root, ("listening",), None)
    assert sec.listening == [] and sec.errors == {}
    assert _linux_verdicts(sec, "host.services.no_telnet")["host.services.no_telnet"][0] == "pass"
