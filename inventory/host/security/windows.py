"""Security facts on Windows: one PowerShell script for the CIM/registry/cmdlet queries, plus the
native ``net accounts`` and ``w32tm /query /status``.

Same functions as ``linux.py``. Starting PowerShell costs a few hundred milliseconds, so the script
runs once per probe; every section has its own try/catch and yields ``{"__error": message}`` when
it fails (a Home edition without BitLocker, a server without Security Center), which fails only
that part. Parsing runs on recorded output in the tests (tests/fixtures/security/windows).
"""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from typing import Any

from inventory.host.security.probe import Probe
from inventory.security import (
    AccountFacts,
    AntivirusFacts,
    AntivirusProduct,
    BootFacts,
    EncryptedVolume,
    EncryptionFacts,
    FirewallFacts,
    FirewallProfile,
    Listener,
    LocalAccount,
    PasswordPolicy,
    RemoteAccessFacts,
    RemoteService,
    ScreenLockFacts,
    SmbFacts,
    TimeSyncFacts,
    TpmFacts,
    UpdateFacts,
)


class PartUnavailable(RuntimeError):
    """This part cannot be read here (cmdlet missing, access denied); the message says why."""


_ISO = "ToUniversalTime().ToString('o')"

# Section name -> PowerShell expression producing objects. Calculated properties turn enums into
# their names and dates into ISO 8601 UTC, because Windows PowerShell 5.1's ConvertTo-Json writes
# enums as numbers and dates as "/Date(...)/".
SECTIONS: dict[str, str] = {
    "FirewallProfiles": "Get-NetFirewallProfile | Select-Object Name,"
    "@{n='Enabled';e={[bool]$_.Enabled}},@{n='DefaultInboundAction';e={\"$($_.DefaultInboundAction)\"}}",
    "ConnectionProfiles": "Get-NetConnectionProfile | Select-Object InterfaceAlias,"
    "@{n='NetworkCategory';e={\"$($_.NetworkCategory)\"}}",
    "WindowsUpdate": "$au = Get-ItemProperty"
    " 'HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows\\WindowsUpdate\\AU' "
    "-ErrorAction SilentlyContinue; $svc = Get-Service wuauserv; "
    "$r = (New-Object -ComObject Microsoft.Update.AutoUpdate).Results; "
    "[pscustomobject]@{NoAutoUpdate=$au.NoAutoUpdate; AUOptions=$au.AUOptions; "
    'ServiceStartType="$($svc.StartType)"; '
    f"LastSearchSuccessDate=$(if ($r.LastSearchSuccessDate) {{ $r.LastSearchSuccessDate.{_ISO} }}); "
    f"LastInstallationSuccessDate=$(if ($r.LastInstallationSuccessDate) "
    f"{{ $r.LastInstallationSuccessDate.{_ISO} }}); "
    "RebootRequired=(Test-Path"
    " 'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\WindowsUpdate\\Auto Update"
    "\\RebootRequired')}",
    "HotFixes": "Get-HotFix | Select-Object HotFixID,Description,"
    "@{n='InstalledOn';e={if ($_.InstalledOn) { $_.InstalledOn.ToString('yyyy-MM-dd') }}}",
    # Offline search of the local Windows Update cache: quick, no download.
    "PendingUpdates": "$s = (New-Object -ComObject Microsoft.Update.Session).CreateUpdateSearcher(); "
    "$s.Online = $false; $res = $s.Search(\"IsInstalled=0 and IsHidden=0 and Type='Software'\"); "
    "$sec = @($res.Updates | Where-Object { $_.Categories | Where-Object "
    "{ $_.CategoryID -eq '0fa1201d-4330-4fa8-8ae9-b877473b6441' } }).Count; "
    "[pscustomobject]@{Total=$res.Updates.Count; Security=$sec}",
    "AntiVirusProduct": "Get-CimInstance -Namespace root/SecurityCenter2 -ClassName AntiVirusProduct | "
    "Select-Object displayName,productState,timestamp,pathToSignedProductExe",
    "Defender": "Get-MpComputerStatus | Select-Object AMServiceEnabled,AntivirusEnabled,"
    "RealTimeProtectionEnabled,AntivirusSignatureAge,AntivirusSignatureVersion,"
    f"@{{n='AntivirusSignatureLastUpdated';e={{$_.AntivirusSignatureLastUpdated.{_ISO}}}}}",
    "LocalUsers": "Get-LocalUser | Select-Object Name,Enabled,@{n='SID';e={$_.SID.Value}}",
    # The Administrators group by its well-known SID: its name is localised.
    "Administrators": "Get-LocalGroupMember -SID S-1-5-32-544 | Select-Object Name,"
    "@{n='ObjectClass';e={\"$($_.ObjectClass)\"}},@{n='PrincipalSource';e={\"$($_.PrincipalSource)\"}},"
    "@{n='SID';e={$_.SID.Value}}",
    "SecurityPolicy": "$f = [IO.Path]::GetTempFileName(); secedit /export /cfg $f /areas SECURITYPOLICY | "
    "Out-Null; Get-Content $f -Raw; Remove-Item $f",
    "ScreenLock": "$p = Get-ItemProperty"
    " 'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System' "
    "-ErrorAction SilentlyContinue; "
    "$users = foreach ($k in Get-ChildItem Registry::HKEY_USERS | Where-Object "
    "{ $_.PSChildName -match '^S-1-5-21-[\\d-]+$' }) { "
    '$d = Get-ItemProperty "Registry::$($k.Name)\\Control Panel\\Desktop" -ErrorAction SilentlyContinue; '
    '$g = Get-ItemProperty "Registry::$($k.Name)\\Software\\Policies\\Microsoft\\Windows\\Control Panel'
    '\\Desktop" -ErrorAction SilentlyContinue; '
    "[pscustomobject]@{Sid=$k.PSChildName; ScreenSaveActive=$d.ScreenSaveActive; "
    "ScreenSaverIsSecure=$d.ScreenSaverIsSecure; ScreenSaveTimeOut=$d.ScreenSaveTimeOut; "
    "PolicyActive=$g.ScreenSaveActive; PolicySecure=$g.ScreenSaverIsSecure;"
    " PolicyTimeOut=$g.ScreenSaveTimeOut} }; "
    "[pscustomobject]@{InactivityTimeoutSecs=$p.InactivityTimeoutSecs; Users=@($users)}",
    "RemoteDesktop": "$ts = Get-ItemProperty 'HKLM:\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server'; "
    "$rdp = Get-ItemProperty 'HKLM:\\SYSTEM\\CurrentControlSet\\Control\\Terminal"
    " Server\\WinStations\\RDP-Tcp'; "
    "function Scope($port) { @(Get-NetFirewallPortFilter -Protocol TCP | Where-Object { $_.LocalPort"
    " -contains "
    "\"$port\" } | Get-NetFirewallRule | Where-Object { $_.Enabled -eq 'True' -and $_.Direction -eq"
    " 'Inbound' "
    "-and $_.Action -eq 'Allow' } | Get-NetFirewallAddressFilter | ForEach-Object { $_.RemoteAddress }) }; "
    "$sshd = Get-Service sshd -ErrorAction SilentlyContinue; "
    "[pscustomobject]@{fDenyTSConnections=$ts.fDenyTSConnections; PortNumber=$rdp.PortNumber; "
    "UserAuthentication=$rdp.UserAuthentication; RdpAllowedFrom=@(Scope $rdp.PortNumber); "
    'SshdStatus=$(if ($sshd) { "$($sshd.Status)" }); SshAllowedFrom=@(Scope 22)}',
    "Smb": "Get-SmbServerConfiguration | Select-Object EnableSMB1Protocol,EnableSMB2Protocol,"
    "@{n='ServerStatus';e={\"$((Get-Service LanmanServer).Status)\"}}",
    "BitLocker": "Get-BitLockerVolume | Select-Object MountPoint,@{n='VolumeType';e={\"$($_.VolumeType)\"}},"
    "@{n='ProtectionStatus';e={\"$($_.ProtectionStatus)\"}},@{n='VolumeStatus';e={\"$($_.VolumeStatus)\"}},"
    "EncryptionPercentage,@{n='EncryptionMethod';e={\"$($_.EncryptionMethod)\"}}",
    "W32Time": "Get-Service W32Time | Select-Object @{n='Status';e={\"$($_.Status)\"}},"
    "@{n='StartType';e={\"$($_.StartType)\"}}",
    "SecureBoot": "$fw = $env:firmware_type; try { $sb = Confirm-SecureBootUEFI; "
    '[pscustomobject]@{FirmwareType=$fw; SecureBoot="$sb"} } '
    "catch [System.PlatformNotSupportedException] { [pscustomobject]@{FirmwareType=$fw;"
    " SecureBoot='Unsupported'} }",
    "Tpm": "$t = Get-Tpm; $w = Get-CimInstance -Namespace root/cimv2/Security/MicrosoftTpm"
    " -ClassName Win32_Tpm "
    "-ErrorAction SilentlyContinue; [pscustomobject]@{TpmPresent=$t.TpmPresent; TpmReady=$t.TpmReady; "
    "TpmEnabled=$t.TpmEnabled; SpecVersion=$w.SpecVersion}",
}


def build_script() -> str:
    parts = ["$ErrorActionPreference = 'Stop'", "$out = [ordered]@{}"]
    for name, expr in SECTIONS.items():
        parts.append(
            f"try {{ $out['{name}'] = @(& {{ {expr} }}) }} "
            f"catch {{ $out['{name}'] = @{{ '__error' = $_.Exception.Message }} }}"
        )
    parts.append("$out | ConvertTo-Json -Depth 5 -Compress")
    return "\n".join(parts)


def _powershell(probe: Probe) -> dict[str, Any]:
    cached = probe.ps_sections
    if cached is not None:
        return cached
    # -EncodedCommand (base64 of UTF-16LE) sidesteps command-line quoting of the script's quotes.
    encoded = base64.b64encode(build_script().encode("utf-16-le")).decode("ascii")
    argv = ["powershell.exe", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass"]
    argv += ["-EncodedCommand"]
    out = probe.cmd("security_ps", *argv, encoded, timeout=180)
    if not out or not out.strip():
        raise PartUnavailable("PowerShell did not answer")
    try:
        data: dict[str, Any] = json.loads(out)
    except json.JSONDecodeError as exc:
        raise PartUnavailable(f"PowerShell output is not JSON: {exc}") from None
    probe.ps_sections = data
    return data


def _rows(probe: Probe, name: str) -> list[dict[str, Any]]:
    value = _powershell(probe).get(name)
    if isinstance(value, dict) and "__error" in value:
        raise PartUnavailable(f"{name}: {value['__error']}")
    if value is None:
        return []
    return [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, dict)]


def _one(probe: Probe, name: str) -> dict[str, Any]:
    rows = _rows(probe, name)
    if not rows:
        raise PartUnavailable(f"{name}: no data")
    return rows[0]


def _dt(value: Any) -> datetime | None:
    if not value or not isinstance(value, str):
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# ---- firewall -------------------------------------------------------------------------------------

INBOUND = {"Block": "block", "Allow": "allow", "NotConfigured": "not_configured"}
CATEGORY_PROFILE = {"DomainAuthenticated": "Domain", "Private": "Private", "Public": "Public"}


def firewall(probe: Probe) -> FirewallFacts | None:
    profiles = [
        FirewallProfile(
            name=r["Name"],
            enabled=r.get("Enabled"),
            default_inbound=INBOUND.get(str(r.get("DefaultInboundAction"))),
        )
        for r in _rows(probe, "FirewallProfiles")
    ]
    if not profiles:
        raise PartUnavailable("no firewall profiles reported")
    try:
        active = {
            CATEGORY_PROFILE.get(str(r.get("NetworkCategory"))) for r in _rows(probe, "ConnectionProfiles")
        }
    except PartUnavailable:
        active = set()
    # What protects the PC now is the profile of the networks it is connected to.
    relevant = [p for p in profiles if p.name in active] or profiles
    enabled = all(p.enabled for p in relevant)
    inbound = "allow" if any(p.default_inbound == "allow" for p in relevant if p.enabled) else "block"
    return FirewallFacts(product="windows", enabled=enabled, default_inbound=inbound, profiles=profiles)


# ---- updates ---------------------------------------------------------------------------------------


def updates(probe: Probe) -> UpdateFacts | None:
    wu = _one(probe, "WindowsUpdate")
    no_auto = _int(wu.get("NoAutoUpdate")) == 1
    options = _int(wu.get("AUOptions"))
    service_off = str(wu.get("ServiceStartType")) == "Disabled"
    # AUOptions 1 = never check, 2 = notify only; 3-5 download and install by themselves.
    automatic = not (no_auto or service_off or options in (1, 2))
    last = _dt(wu.get("LastInstallationSuccessDate"))
    what = "Windows Update" if last else None
    try:
        hotfixes = _rows(probe, "HotFixes")
    except PartUnavailable:
        hotfixes = []
    for hf in hotfixes:
        d = hf.get("InstalledOn")
        if not d:
            continue
        when = datetime.fromisoformat(d).replace(tzinfo=UTC)
        if last is None or when.date() > last.date():
            last, what = when, hf.get("HotFixID")
    try:
        pending = _one(probe, "PendingUpdates")
        total, security = _int(pending.get("Total")), _int(pending.get("Security"))
    except PartUnavailable:
        total = security = None
    return UpdateFacts(
        mechanism="windows-update",
        automatic=automatic,
        last_update_at=last,
        last_update_what=what,
        pending_total=total,
        pending_security=security,
        reboot_required=bool(wu.get("RebootRequired")),
    )


# ---- antivirus -------------------------------------------------------------------------------------


def decode_product_state(state: int) -> tuple[bool, bool]:
    """(real-time protection on, signatures up to date) from Security Center's ``productState``.

    The value packs three bytes: product type, scanner state and signature state. Bit 0x1000 of
    the scanner byte means "on" (0x10/0x11 on, 0x00/0x01 off); the signature byte is 0x00 when up
    to date and 0x10 when out of date. 397568 = 0x061100: on, up to date; 393472 = 0x060100: off;
    397584 = 0x061110: on, signatures out of date.
    """
    return bool(state & 0x1000), not state & 0x10


DEFENDER_NAMES = ("windows defender", "microsoft defender")


def antivirus(probe: Probe) -> AntivirusFacts | None:
    products: list[AntivirusProduct] = []
    try:
        rows = _rows(probe, "AntiVirusProduct")
    except PartUnavailable:
        rows = []  # Windows Server has no Security Center; Defender's own status still tells
    for r in rows:
        state = _int(r.get("productState"))
        on, fresh = decode_product_state(state) if state is not None else (None, None)
        products.append(
            AntivirusProduct(
                name=str(r.get("displayName") or "unknown"),
                enabled=on,
                up_to_date=fresh,
                product_state=state,
                source="securitycenter2",
            )
        )
    try:
        mp = _one(probe, "Defender")
    except PartUnavailable:
        mp = None
    if mp is not None:
        updated = _dt(mp.get("AntivirusSignatureLastUpdated"))
        defender = next((p for p in products if p.name.lower().startswith(DEFENDER_NAMES)), None)
        realtime = bool(mp.get("AMServiceEnabled")) and bool(mp.get("RealTimeProtectionEnabled"))
        if defender is None and (realtime or not products):
            defender = AntivirusProduct(name="Microsoft Defender Antivirus", source="defender")
            products.append(defender)
        if defender is not None:
            defender.signature_updated_at = updated
            if defender.enabled is None or defender.source == "defender":
                defender.enabled = realtime
    if not rows and mp is None:
        raise PartUnavailable("neither Security Center nor Defender answered")
    return AntivirusFacts(products=products)


# ---- accounts and password policy ---------------------------------------------------------------


def _enabled(row: dict[str, Any] | None) -> bool | None:
    value = row.get("Enabled") if row else None
    return value if isinstance(value, bool) else None


def accounts(probe: Probe) -> AccountFacts | None:
    users = _rows(probe, "LocalUsers")  # refused: the whole part is unknown, with the cmdlet's message
    by_sid = {str(u.get("SID")): u for u in users}
    builtin = next((u for sid, u in by_sid.items() if sid.endswith("-500")), None)
    # Every Windows has the guest account (RID 501, whatever its name); a list without it is not a
    # list of this PC's accounts, and "no guest account here" would read as "guest disabled".
    guest = next((u for sid, u in by_sid.items() if sid.endswith("-501")), None)
    if guest is None:
        probe.not_observed(
            "accounts.guest_enabled",
            "Get-LocalUser listed no guest account (RID 501)"
            if users
            else "Get-LocalUser listed no accounts",
        )
    elif _enabled(guest) is None:
        probe.not_observed("accounts.guest_enabled", "Get-LocalUser did not say whether Guest is enabled")
    try:
        members = _rows(probe, "Administrators")
    except PartUnavailable as exc:
        members = None
        probe.not_observed("accounts.admins", str(exc))
    admins = None
    if members is not None:
        admins = []
        for m in members:
            sid = str(m.get("SID") or "")
            local = by_sid.get(sid)
            admins.append(
                LocalAccount(
                    name=str(m.get("Name")),
                    sid=sid or None,
                    enabled=bool(local.get("Enabled")) if local else None,
                    builtin=sid.endswith("-500"),
                    kind=str(m.get("ObjectClass") or "").lower() or None,
                )
            )
    return AccountFacts(
        admins=admins,
        guest_enabled=_enabled(guest),
        builtin_admin_enabled=bool(builtin.get("Enabled")) if builtin else None,
    )


def parse_net_accounts(text: str) -> PasswordPolicy:
    """``net accounts`` output, read by line position: the labels are translated on localised
    Windows but the order is fixed. Words instead of numbers ("Never", "Unlimited", "None") mean
    no limit."""
    values = [ln.rsplit(":", 1)[1].strip() for ln in text.splitlines() if ":" in ln]
    if len(values) < 8:
        raise PartUnavailable("unexpected `net accounts` output")
    _, min_age, max_age, min_len, history, threshold, duration, _window = values[:8]
    return PasswordPolicy(
        min_age_days=_int(min_age),
        max_age_days=_int(max_age),
        never_expires=_int(max_age) is None,
        min_length=_int(min_len) or 0,
        history=_int(history) or 0,
        lockout_threshold=_int(threshold) or 0,
        lockout_duration_minutes=_int(duration),
        source="net accounts",
    )


def password_policy(probe: Probe) -> PasswordPolicy | None:
    text = probe.cmd("net_accounts", "net", "accounts")
    if not text:
        raise PartUnavailable("`net accounts` did not answer")
    policy = parse_net_accounts(text)
    # secedit's INF export is text, not objects: the section holds one string (or an __error object).
    raw = _powershell(probe).get("SecurityPolicy")
    secedit = raw[0] if isinstance(raw, list) and raw and isinstance(raw[0], str) else ""
    m = re.search(r"^\s*PasswordComplexity\s*=\s*(\d)", secedit, re.M)
    if m:
        policy.complexity = m.group(1) == "1"
    return policy


# ---- screen lock -----------------------------------------------------------------------------------


def screen_lock(probe: Probe) -> ScreenLockFacts | None:
    data = _one(probe, "ScreenLock")
    machine = _int(data.get("InactivityTimeoutSecs"))
    if machine:
        # "Interactive logon: Machine inactivity limit" locks every session after this time.
        return ScreenLockFacts(timeout_seconds=machine, lock_enabled=True, source="policy")
    worst: ScreenLockFacts | None = None
    for u in data.get("Users") or []:
        active = str(u.get("PolicyActive") or u.get("ScreenSaveActive") or "0") == "1"
        secure = str(u.get("PolicySecure") or u.get("ScreenSaverIsSecure") or "0") == "1"
        timeout = _int(u.get("PolicyTimeOut") or u.get("ScreenSaveTimeOut")) or 0
        here = ScreenLockFacts(
            timeout_seconds=timeout if active else 0,
            lock_enabled=secure,
            source="user policy" if u.get("PolicyActive") is not None else "user desktop",
        )
        if worst is None or _looser(here, worst):
            worst = here
    if worst is None:
        raise PartUnavailable("no machine inactivity limit and no signed-in user to read")
    return worst


def _looser(a: ScreenLockFacts, b: ScreenLockFacts) -> bool:
    def rank(s: ScreenLockFacts) -> tuple[int, int]:
        never = not s.lock_enabled or not s.timeout_seconds
        return (1 if never else 0, s.timeout_seconds or 0)

    return rank(a) > rank(b)


# ---- remote access, listeners, SMB -----------------------------------------------------------------


def listening(probe: Probe) -> list[Listener] | None:
    found = probe.listening()
    if found is None:
        raise PartUnavailable(probe.listening_error or "could not list listening sockets")
    return found


def _fmt(lis: Listener) -> str:
    return f"[{lis.address}]:{lis.port}" if ":" in lis.address else f"{lis.address}:{lis.port}"


def _scopes(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value] if value else []
    out: list[str] = []
    for item in items:
        out += [s for s in str(item).split(",") if s]
    return out


def remote_access(probe: Probe) -> RemoteAccessFacts | None:
    data = _one(probe, "RemoteDesktop")
    port = _int(data.get("PortNumber")) or 3389
    # On/off comes from the registry and the service; unlisted sockets only leave ``listening`` empty.
    listeners = probe.listening() or []
    rdp_on = _int(data.get("fDenyTSConnections")) == 0
    rdp = RemoteService(
        enabled=rdp_on,
        port=port,
        listening=[_fmt(lis) for lis in listeners if lis.port == port],
        allowed_from=_scopes(data.get("RdpAllowedFrom")) if rdp_on else None,
        nla_required=_int(data.get("UserAuthentication")) == 1,
    )
    sshd = data.get("SshdStatus")
    ssh_listen = [_fmt(lis) for lis in listeners if lis.port == 22]
    ssh = RemoteService(
        enabled=sshd == "Running" or bool(ssh_listen),
        port=22,
        listening=ssh_listen,
        allowed_from=_scopes(data.get("SshAllowedFrom")) if sshd == "Running" else None,
    )
    return RemoteAccessFacts(rdp=rdp, ssh=ssh)


def smb(probe: Probe) -> SmbFacts | None:
    cfg = _one(probe, "Smb")
    return SmbFacts(
        server_running=cfg.get("ServerStatus") == "Running",
        smb1_enabled=bool(cfg.get("EnableSMB1Protocol")),
    )


# ---- encryption, time, boot, TPM -------------------------------------------------------------------


def encryption(probe: Probe) -> EncryptionFacts | None:
    volumes = []
    for v in _rows(probe, "BitLocker"):
        status = str(v.get("VolumeStatus"))
        encrypted = (
            status in ("FullyEncrypted", "EncryptionInProgress") or _int(v.get("EncryptionPercentage")) == 100
        )
        method = str(v.get("EncryptionMethod") or "")
        volumes.append(
            EncryptedVolume(
                name=str(v.get("MountPoint")),
                encrypted=encrypted,
                protection_on=str(v.get("ProtectionStatus")) == "On",
                method=method if method and method != "None" else None,
                system=str(v.get("VolumeType")) == "OperatingSystem",
            )
        )
    system = [v for v in volumes if v.system]
    return EncryptionFacts(
        product="bitlocker", volumes=volumes, system_encrypted=system[0].encrypted if system else None
    )


def parse_w32tm_status(text: str) -> TimeSyncFacts:
    kv: dict[str, str] = {}
    for line in text.splitlines():
        if ":" in line:
            k, _, v = line.partition(":")
            kv[k.strip()] = v.strip()
    leap = kv.get("Leap Indicator", "")
    source = kv.get("Source", "").split(",")[0].strip() or None
    local = source in (
        None,
        "Local CMOS Clock",
        "Free-running System Clock",
        "VM IC Time Synchronization Provider",
    )
    last = None
    for fmt in ("%m/%d/%Y %I:%M:%S %p", "%d/%m/%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S"):
        try:
            last = datetime.strptime(kv.get("Last Successful Sync Time", ""), fmt).astimezone(UTC)
            break
        except ValueError:
            continue
    return TimeSyncFacts(
        service="w32time",
        enabled=True,
        synchronized=not leap.startswith("3") and not local,
        source=source,
        last_sync_at=last,
    )


def time_sync(probe: Probe) -> TimeSyncFacts | None:
    try:
        svc = _one(probe, "W32Time")
    except PartUnavailable:
        svc = {}
    text = probe.cmd("w32tm_status", "w32tm", "/query", "/status")
    if svc.get("Status") == "Stopped" or (text is not None and "0x80070426" in text):
        return TimeSyncFacts(service="w32time", enabled=False, synchronized=False)
    if not text:
        raise PartUnavailable("w32tm did not answer")
    return parse_w32tm_status(text)


def boot(probe: Probe) -> BootFacts | None:
    sb = _one(probe, "SecureBoot")
    firmware = str(sb.get("FirmwareType") or "")
    value = str(sb.get("SecureBoot"))
    if value == "Unsupported" or firmware == "Legacy":
        return BootFacts(uefi=False, secure_boot=False)
    return BootFacts(
        uefi=True if firmware == "UEFI" or value in ("True", "False") else None, secure_boot=value == "True"
    )


def tpm(probe: Probe) -> TpmFacts | None:
    t = _one(probe, "Tpm")
    present = bool(t.get("TpmPresent"))
    spec = str(t.get("SpecVersion") or "")
    version = spec.split(",")[0].strip() or None
    return TpmFacts(
        present=present,
        version=version if present else None,
        enabled=t.get("TpmEnabled"),
        ready=t.get("TpmReady"),
    )
