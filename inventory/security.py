"""Host security posture: firewall, updates, antivirus, accounts, policies, remote access,
encryption, time sync, Secure Boot and TPM.

Every part is optional and every field defaults to ``None`` = "not known": a reader that cannot
tell (no permission, unknown output) leaves it unset rather than guessing and records why a part is
missing in ``errors``; the checks then report ``unknown``, which never counts as a pass. What is
absent is a fact, not a blind spot: no firewall installed is ``FirewallFacts(product="none")``.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from inventory.base import FactModel


class FirewallProfile(FactModel):
    name: str  # Windows: Domain, Private, Public; Linux: the zone or table
    enabled: bool | None = None
    default_inbound: str | None = None  # block, allow, not_configured


class FirewallFacts(FactModel):
    product: str | None = None  # ufw, firewalld, nftables, iptables, windows
    enabled: bool | None = None  # filtering inbound traffic right now
    default_inbound: str | None = None  # block, allow
    rule_count: int | None = None
    profiles: list[FirewallProfile] = Field(default_factory=list)


class UpdateFacts(FactModel):
    mechanism: str | None = None  # unattended-upgrades, dnf-automatic, windows-update
    automatic: bool | None = None
    last_update_at: datetime | None = None  # last installed update (apt/dnf history, hotfix)
    last_update_what: str | None = None  # e.g. KB5034441, or the apt command line
    pending_total: int | None = None
    pending_security: int | None = None  # None: the OS does not tell
    reboot_required: bool | None = None


class AntivirusProduct(FactModel):
    name: str
    enabled: bool | None = None  # real-time protection on
    up_to_date: bool | None = None  # the product's own verdict on its signatures
    signature_updated_at: datetime | None = None
    product_state: int | None = None  # Windows Security Center raw value
    source: str | None = None  # securitycenter2, defender, clamav


class AntivirusFacts(FactModel):
    products: list[AntivirusProduct] = Field(default_factory=list)


class LocalAccount(FactModel):
    name: str
    sid: str | None = None  # Windows
    uid: int | None = None  # Linux
    enabled: bool | None = None
    builtin: bool = False  # Windows built-in Administrator (RID 500) or Linux root
    kind: str | None = None  # user, group (a group nested in Administrators), domain


class AccountFacts(FactModel):
    admins: list[LocalAccount] | None = None  # members of Administrators / sudo, wheel, admin, uid 0
    guest_enabled: bool | None = None
    builtin_admin_enabled: bool | None = None
    uid0_accounts: list[str] | None = None  # Linux: every account with uid 0


class PasswordPolicy(FactModel):
    min_length: int | None = None
    max_age_days: int | None = None  # 0 or None from "unlimited" -> stored as None with never_expires
    never_expires: bool | None = None
    min_age_days: int | None = None
    history: int | None = None
    complexity: bool | None = None
    lockout_threshold: int | None = None  # 0 = never lock out
    lockout_duration_minutes: int | None = None
    source: str | None = None  # net accounts, login.defs, pwquality, faillock


class ScreenLockFacts(FactModel):
    timeout_seconds: int | None = None  # idle time before the screen locks; 0 = never
    lock_enabled: bool | None = None  # a password is needed to unlock
    source: str | None = None  # gsettings, dconf, policy, user-desktop


class RemoteService(FactModel):
    enabled: bool | None = None
    port: int | None = None
    listening: list[str] = Field(default_factory=list)  # address:port the service listens on
    # Which remote addresses the host firewall lets in for this service ("Any", "LocalSubnet", CIDRs).
    allowed_from: list[str] | None = None
    nla_required: bool | None = None  # RDP network level authentication
    root_login: str | None = None  # sshd PermitRootLogin value
    password_auth: bool | None = None  # sshd PasswordAuthentication


class RemoteAccessFacts(FactModel):
    rdp: RemoteService | None = None
    ssh: RemoteService | None = None


class Listener(FactModel):
    protocol: str = "tcp"
    address: str
    port: int
    process: str | None = None


class SmbFacts(FactModel):
    server_running: bool | None = None
    smb1_enabled: bool | None = None
    min_protocol: str | None = None  # Samba "server min protocol"


class EncryptedVolume(FactModel):
    name: str  # C:, /, /home
    encrypted: bool | None = None
    protection_on: bool | None = None
    method: str | None = None  # LUKS2, XtsAes128, ...
    system: bool = False


class EncryptionFacts(FactModel):
    volumes: list[EncryptedVolume] = Field(default_factory=list)
    system_encrypted: bool | None = None
    product: str | None = None  # bitlocker, luks


class TimeSyncFacts(FactModel):
    service: str | None = None  # systemd-timesyncd, chronyd, ntpd, w32time
    enabled: bool | None = None
    synchronized: bool | None = None
    source: str | None = None
    offset_seconds: float | None = None
    last_sync_at: datetime | None = None


class BootFacts(FactModel):
    uefi: bool | None = None
    secure_boot: bool | None = None


class TpmFacts(FactModel):
    present: bool | None = None
    version: str | None = None  # "2.0", "1.2"
    enabled: bool | None = None
    ready: bool | None = None


class SecurityFacts(FactModel):
    # When these facts were read (agent clock, UTC): ages such as "days since the last update" are
    # judged against the run's time, and this tells how fresh the facts were.
    collected_at: datetime | None = None
    firewall: FirewallFacts | None = None
    updates: UpdateFacts | None = None
    antivirus: AntivirusFacts | None = None
    accounts: AccountFacts | None = None
    password_policy: PasswordPolicy | None = None
    screen_lock: ScreenLockFacts | None = None
    remote_access: RemoteAccessFacts | None = None
    listening: list[Listener] | None = None  # TCP sockets in LISTEN state
    smb: SmbFacts | None = None
    encryption: EncryptionFacts | None = None
    time_sync: TimeSyncFacts | None = None
    boot: BootFacts | None = None
    tpm: TpmFacts | None = None
    # Part name -> why it could not be read (no permission, tool missing, unparseable output); or
    # "part.field" (remote_access.ssh.root_login) -> why the reader left that field unset while it
    # read the rest of the part. Checks read both as "could not observe" (unknown), never a pass.
    errors: dict[str, str] = Field(default_factory=dict)
