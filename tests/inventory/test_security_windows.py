"""Windows security facts parsed from recorded PowerShell/command output (constructed samples, see
tests/fixtures/security/README.md), and the verdicts the host checks give over them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from checks.runner import run_checks
from inventory.facts import Facts, OsFacts
from inventory.host.security import collect_security_facts, linux, windows
from inventory.host.security.probe import Probe
from inventory.host.security.windows import decode_product_state, parse_net_accounts
from inventory.security import Listener

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "security" / "windows"
NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
FILES = {
    "security_ps": "security_ps.json",
    "net_accounts": "net_accounts.txt",
    "w32tm_status": "w32tm_status.txt",
}


def recorded_probe(scenario: str) -> tuple[Probe, list[tuple[str, tuple[str, ...]]]]:
    base = FIXTURES / scenario
    calls: list[tuple[str, tuple[str, ...]]] = []

    def run(name: str, argv: Sequence[str], timeout: float) -> str | None:
        calls.append((name, tuple(argv)))
        path = base / FILES.get(name, f"{name}.txt")
        return path.read_text(encoding="utf-8") if path.is_file() else None

    listeners = [Listener(**x) for x in json.loads((base / "listeners.json").read_text())]
    return Probe(run=run, listeners=lambda: listeners, now=NOW), calls


def collect(scenario: str):  # type: ignore[no-untyped-def]
    probe, _ = recorded_probe(scenario)
    return collect_security_facts(probe, platform="win32")


def test_powershell_runs_once_for_every_part() -> None:
    probe, calls = recorded_probe("win11-pro")
    collect_security_facts(probe, platform="win32")
    names = [n for n, _ in calls]
    assert names.count("security_ps") == 1
    (argv,) = [a for n, a in calls if n == "security_ps"]
    assert argv[0] == "powershell.exe" and "-EncodedCommand" in argv


def test_compliant_windows_11_pc() -> None:
    sec = collect("win11-pro")
    assert sec.errors == {}
    fw = sec.firewall
    assert fw is not None and fw.enabled is True and fw.default_inbound == "block"
    assert [(p.name, p.enabled, p.default_inbound) for p in fw.profiles] == [
        ("Domain", True, "not_configured"),
        ("Private", True, "not_configured"),
        ("Public", True, "block"),
    ]
    up = sec.updates
    assert up is not None and up.automatic is True and up.reboot_required is False
    assert up.last_update_at == datetime(2026, 11, 19, 3, 15, 42, tzinfo=UTC)
    assert (up.pending_total, up.pending_security) == (1, 0)
    (av,) = sec.antivirus.products  # type: ignore[union-attr]
    assert (av.name, av.enabled, av.up_to_date, av.product_state) == ("Windows Defender", True, True, 397568)
    assert av.signature_updated_at == datetime(2026, 11, 26, 2, 10, 11, tzinfo=UTC)
    acc = sec.accounts
    assert acc is not None and acc.guest_enabled is False and acc.builtin_admin_enabled is False
    assert [(a.name, a.enabled, a.builtin) for a in acc.admins or []] == [
        ("PC-MOTCUA-01\\Administrator", False, True),
        ("PC-MOTCUA-01\\kythuat", True, False),
    ]
    pw = sec.password_policy
    assert pw is not None
    assert (pw.min_length, pw.max_age_days, pw.history, pw.lockout_threshold, pw.complexity) == (
        10,
        90,
        24,
        5,
        True,
    )
    assert sec.screen_lock is not None and (sec.screen_lock.timeout_seconds, sec.screen_lock.source) == (
        600,
        "policy",
    )
    rdp = sec.remote_access.rdp  # type: ignore[union-attr]
    assert rdp is not None and rdp.enabled is False and rdp.nla_required is True
    assert sec.smb is not None and sec.smb.smb1_enabled is False
    assert sec.encryption is not None and sec.encryption.system_encrypted is True
    assert sec.encryption.volumes[0].method == "XtsAes128"
    ts = sec.time_sync
    assert ts is not None and ts.synchronized is True and ts.source == "time.windows.com"
    assert ts.last_sync_at is not None
    assert (sec.boot.uefi, sec.boot.secure_boot) == (True, True)  # type: ignore[union-attr]
    assert (sec.tpm.present, sec.tpm.version, sec.tpm.ready) == (True, "2.0", True)  # type: ignore[union-attr]


def test_legacy_windows_10_pc() -> None:
    sec = collect("win10-legacy")
    fw = sec.firewall
    # Connected to a Private network whose profile is off: the PC is unprotected now.
    assert fw is not None and fw.enabled is False and fw.default_inbound == "block"
    up = sec.updates
    assert up is not None and up.automatic is False and up.reboot_required is True
    assert up.last_update_at is not None and up.last_update_at.date().isoformat() == "2026-03-11"
    assert up.pending_security == 6
    products = {p.name: p for p in sec.antivirus.products}  # type: ignore[union-attr]
    assert products["Windows Defender"].enabled is False
    assert products["Windows Defender"].signature_updated_at == datetime(2026, 9, 1, 1, tzinfo=UTC)
    bkav = products["Bkav Pro Internet Security"]
    assert (bkav.enabled, bkav.up_to_date) == (True, False)
    acc = sec.accounts
    assert acc is not None and acc.guest_enabled is True and acc.builtin_admin_enabled is True
    assert len(acc.admins or []) == 4
    pw = sec.password_policy
    assert pw is not None
    assert (pw.min_length, pw.max_age_days, pw.history, pw.lockout_threshold, pw.complexity) == (
        0,
        42,
        0,
        0,
        False,
    )
    sl = sec.screen_lock
    assert sl is not None and sl.lock_enabled is False and sl.timeout_seconds == 900
    rdp = sec.remote_access.rdp  # type: ignore[union-attr]
    assert rdp is not None and rdp.enabled and rdp.allowed_from == ["Any"] and rdp.nla_required is False
    assert rdp.listening == ["0.0.0.0:3389"]
    assert sec.smb is not None and sec.smb.smb1_enabled is True
    assert sec.encryption is not None and sec.encryption.system_encrypted is False
    assert sec.time_sync is not None and sec.time_sync.enabled is False
    assert (sec.boot.uefi, sec.boot.secure_boot) == (False, False)  # type: ignore[union-attr]
    assert sec.tpm is not None and sec.tpm.version == "1.2"


def test_failing_cmdlets_cost_only_their_parts() -> None:
    sec = collect("win11-home-errors")
    assert "Get-BitLockerVolume" in sec.errors["encryption"]
    assert "net accounts" in sec.errors["password_policy"]  # not recorded: the command did not answer
    assert "no signed-in user" in sec.errors["screen_lock"]
    assert "time_sync" in sec.errors  # w32tm did not answer
    # Administrators failed (orphaned-SID bug of Get-LocalGroupMember); the rest of accounts read.
    assert sec.accounts is not None and sec.accounts.admins is None and sec.accounts.guest_enabled is False
    # Pending updates unknown, the rest of updates known; firewall falls back to all profiles.
    assert sec.updates is not None and sec.updates.pending_security is None and sec.updates.automatic is True
    assert sec.firewall is not None and sec.firewall.enabled is True


@pytest.mark.parametrize(
    ("state", "on", "fresh"),
    [
        (397568, True, True),
        (393472, False, True),
        (397584, True, False),
        (266240, True, True),
        (262144, False, True),
    ],
)
def test_security_center_product_state(state: int, on: bool, fresh: bool) -> None:
    assert decode_product_state(state) == (on, fresh)


def test_net_accounts_is_read_by_position_so_localised_labels_work() -> None:
    vi = "\n".join(
        [
            "Buộc người dùng đăng xuất sau khi hết giờ?:   Không bao giờ",
            "Tuổi mật khẩu tối thiểu (ngày):               1",
            "Tuổi mật khẩu tối đa (ngày):                  Không giới hạn",
            "Độ dài mật khẩu tối thiểu:                    8",
            "Số mật khẩu cũ được lưu:                      Không",
            "Ngưỡng khóa:                                  Không bao giờ",
            "Thời gian khóa (phút):                        30",
            "Cửa sổ theo dõi khóa (phút):                  30",
            "Vai trò máy tính:                             WORKSTATION",
        ]
    )
    p = parse_net_accounts(vi)
    assert (p.min_length, p.never_expires, p.history, p.lockout_threshold) == (8, True, 0, 0)


def test_both_platform_modules_expose_the_same_part_functions() -> None:
    from inventory.host.security import PARTS

    for part in PARTS:
        assert callable(getattr(linux, part)) and callable(getattr(windows, part)), part


def _statuses(scenario: str, os: OsFacts, **extra: object) -> dict[str, str]:
    facts = Facts.model_validate({"os": os.model_dump(), "security": collect(scenario).model_dump(), **extra})
    return {r.check_id: r.status.value for r in run_checks(facts, now=NOW, modules=["checks"])}


def test_checks_over_the_compliant_pc_pass() -> None:
    os = OsFacts(
        family="windows", name="Microsoft Windows 11 Pro", version="10.0.26200", edition="Professional"
    )
    got = _statuses("win11-pro", os)
    assert {k: v for k, v in got.items() if v not in ("pass", "not_applicable")} == {}
    assert sum(v == "pass" for v in got.values()) >= 28


def test_checks_over_the_legacy_pc_fail_where_a_technician_expects() -> None:
    os = OsFacts(
        family="windows", name="Microsoft Windows 10 Pro", version="10.0.19045", edition="Professional"
    )
    got = _statuses(
        "win10-legacy",
        os,
        cpu={"model": "Intel(R) Core(TM) i5-4590 CPU @ 3.30GHz"},
        memory={"total_bytes": 8 * 1024**3},
        disks=[{"name": "disk0", "size_bytes": 500107862016, "system_disk": True}],
    )
    fails = {k for k, v in got.items() if v == "fail"}
    assert {
        "host.os.supported",
        "host.os.windows11_ready",
        "host.firewall.enabled",
        "host.firewall.all_profiles",
        "host.updates.automatic",
        "host.updates.recent",
        "host.updates.no_pending_security",
        "host.antivirus.signatures_fresh",
        "host.accounts.admins_limited",
        "host.accounts.guest_disabled",
        "host.accounts.builtin_admin_disabled",
        "host.password.min_length",
        "host.password.lockout",
        "host.screenlock.timeout",
        "host.remote.rdp_lan_only",
        "host.remote.rdp_nla",
        "host.services.no_ftp",
        "host.services.no_smb1",
        "host.services.no_vnc",
        "host.encryption.system_disk",
        "host.time.synchronized",
        "host.boot.secure_boot",
        "host.tpm.present",
    } <= fails
    assert got["host.antivirus.enabled"] == "pass"  # Bkav is on, though its signatures are old
    assert got["host.services.no_telnet"] == "pass"


def _verdicts(sec, *ids: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    facts = Facts(os=OsFacts(family="windows", name="Windows 11 Home", version="10.0.22631"), security=sec)
    return {r.check_id: r.status.value for r in run_checks(facts, now=NOW) if r.check_id in ids}


def test_what_a_standard_user_cannot_read_is_unknown_not_a_pass() -> None:
    """Recorded output of a PC where BitLocker and the pending-update search answered with errors."""
    got = _verdicts(
        collect("win11-home-errors"),
        "host.encryption.system_disk",
        "host.updates.no_pending_security",
        "host.firewall.enabled",
    )
    assert got == {
        "host.encryption.system_disk": "unknown",
        "host.updates.no_pending_security": "unknown",
        "host.firewall.enabled": "pass",
    }


def test_firewall_access_denied_is_unknown(tmp_path: Path) -> None:
    """The recorded output with Get-NetFirewallProfile refused ("Access is denied.", as a standard
    user's PowerShell prints it): every firewall check is unknown."""
    data = json.loads((FIXTURES / "win11-home-errors" / "security_ps.json").read_text(encoding="utf-8"))
    data["FirewallProfiles"] = {"__error": "Access is denied."}
    recorded = json.dumps(data)
    probe = Probe(run=lambda n, a, t: recorded if n == "security_ps" else None, listeners=lambda: [], now=NOW)
    sec = collect_security_facts(probe, platform="win32")
    assert "Access is denied" in sec.errors["firewall"]
    got = _verdicts(
        sec, "host.firewall.enabled", "host.firewall.all_profiles", "host.firewall.default_inbound_block"
    )
    assert set(got.values()) == {"unknown"}, got


def _with_local_users(local_users: object) -> Probe:
    """The recorded Windows 11 output with the LocalUsers section replaced."""
    data = json.loads((FIXTURES / "win11-pro" / "security_ps.json").read_text(encoding="utf-8"))
    data["LocalUsers"] = local_users
    recorded = json.dumps(data)
    return Probe(run=lambda n, a, t: recorded if n == "security_ps" else None, listeners=lambda: [], now=NOW)


@pytest.mark.parametrize(
    ("local_users", "where", "reason"),
    [
        # Get-LocalUser answered, with no account (or nothing at all): not "the guest account is disabled".
        ([], "accounts.guest_enabled", "Get-LocalUser listed no accounts"),
        (None, "accounts.guest_enabled", "Get-LocalUser listed no accounts"),
        # A list without RID 501 (every Windows has one, whatever its name) is not this PC's list.
        (
            [{"Name": "kythuat", "Enabled": True, "SID": "S-1-5-21-3623811015-3361044348-30300820-1001"}],
            "accounts.guest_enabled",
            "Get-LocalUser listed no guest account (RID 501)",
        ),
        # 32-bit PowerShell on 64-bit Windows has no LocalAccounts module: the whole part says why.
        (
            {
                "__error": "The term 'Get-LocalUser' is not recognized as the name of a cmdlet, function, "
                "script file, or operable program."
            },
            "accounts",
            "LocalUsers: The term 'Get-LocalUser' is not recognized",
        ),
    ],
)
def test_guest_not_in_the_local_users_answer_is_unknown_not_disabled(
    local_users: object, where: str, reason: str
) -> None:
    sec = collect_security_facts(_with_local_users(local_users), platform="win32")
    assert sec.accounts is None or sec.accounts.guest_enabled is None
    assert sec.errors[where].startswith(reason)
    facts = Facts(os=OsFacts(family="windows", name="Windows 11 Pro", version="10.0.26200"), security=sec)
    (result,) = [r for r in run_checks(facts, now=NOW) if r.check_id == "host.accounts.guest_disabled"]
    assert result.status.value == "unknown"
    assert f"could not observe: security.{where} ({reason}" in result.evidence


def test_guest_in_the_local_users_answer_decides() -> None:
    sec = collect("win11-pro")  # the recorded list holds Guest (RID 501), disabled
    assert sec.accounts is not None and sec.accounts.guest_enabled is False
    assert not any(k.startswith("accounts") for k in sec.errors)
    assert _verdicts(sec, "host.accounts.guest_disabled") == {"host.accounts.guest_disabled": "pass"}
