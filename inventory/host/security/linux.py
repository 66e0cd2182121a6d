"""Security facts on Linux: configuration files under the probe's root plus a few commands.

Same functions as ``windows.py``. Each returns its part, or None when it cannot tell; a reader
that cannot read what it needs raises ``PartUnavailable`` with the reason, recorded in
``SecurityFacts.errors``.
"""

from __future__ import annotations

import gzip
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
    """This part cannot be read here (tool missing, no permission); the message says why."""


def _kv(text: str | None, sep: str = "=") -> dict[str, str]:
    out: dict[str, str] = {}
    for line in (text or "").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or sep not in line:
            continue
        k, _, v = line.partition(sep)
        out[k.strip()] = v.strip().strip('"')
    return out


def _local_to_utc(dt: datetime) -> datetime:
    # Log timestamps are local time without a zone; astimezone() reads a naive value as local.
    return dt.astimezone(UTC)


# ---- firewall -------------------------------------------------------------------------------------


def _ufw(probe: Probe) -> FirewallFacts | None:
    conf = _kv(probe.read("/etc/ufw/ufw.conf"))
    if not conf and not probe.exists("/usr/sbin/ufw"):
        return None
    status = probe.cmd("ufw_status", "ufw", "status", "verbose")
    if status and "Status:" in status:
        active = "Status: active" in status
        m = re.search(r"Default:\s*(\w+)\s*\(incoming\)", status)
        default = None
        if m:
            default = "block" if m.group(1) in ("deny", "reject") else "allow"
        rules = (
            [ln for ln in status.split("\n--", 1)[-1].splitlines()[1:] if ln.strip()]
            if "--" in status
            else []
        )
        return FirewallFacts(
            product="ufw",
            enabled=active,
            default_inbound=default if active else "allow",
            rule_count=len(rules),
        )
    # Without root, ufw cannot say; its config says whether it starts at boot.
    enabled = conf.get("ENABLED", "").lower() == "yes"
    policy = _kv(probe.read("/etc/default/ufw")).get("DEFAULT_INPUT_POLICY", "").upper()
    default = ("block" if policy in ("DROP", "REJECT") else "allow") if enabled and policy else None
    return FirewallFacts(product="ufw", enabled=enabled, default_inbound=default if enabled else "allow")


def _firewalld(probe: Probe) -> FirewallFacts | None:
    state = probe.cmd("firewalld_state", "firewall-cmd", "--state")
    if state is None:
        return None
    running = state.strip() == "running"
    # firewalld rejects whatever the zone does not allow.
    return FirewallFacts(
        product="firewalld", enabled=running, default_inbound="block" if running else "allow"
    )


def parse_nft(text: str) -> FirewallFacts | None:
    policy = None
    rules = 0
    in_input = False
    drops = False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("chain "):
            in_input = False
        elif line.startswith("type filter hook input"):
            in_input = True
            m = re.search(r"policy (\w+);", line)
            if m:
                policy = "block" if m.group(1) == "drop" else "allow"
        elif in_input and line and not line.startswith("}"):
            rules += 1
            drops = drops or bool(re.search(r"\b(drop|reject)\b", line))
    if policy is None and rules == 0:
        return None
    enabled = policy == "block" or drops
    return FirewallFacts(
        product="nftables", enabled=enabled, default_inbound=policy or "allow", rule_count=rules
    )


def parse_iptables(text: str) -> FirewallFacts | None:
    policy = None
    rules = 0
    drops = False
    for line in text.splitlines():
        if line.startswith("-P INPUT "):
            policy = "block" if line.split()[2] in ("DROP", "REJECT") else "allow"
        elif line.startswith("-A INPUT ") or line.startswith("-A ufw-") or line.startswith("-A INPUT_"):
            rules += 1
            drops = drops or bool(re.search(r"-j (DROP|REJECT)", line))
    if policy is None:
        return None
    return FirewallFacts(
        product="iptables", enabled=policy == "block" or drops, default_inbound=policy, rule_count=rules
    )


def firewall(probe: Probe) -> FirewallFacts | None:
    seen: list[FirewallFacts] = []
    for reader in (_ufw, _firewalld):
        fw = reader(probe)
        if fw is not None:
            if fw.enabled:
                return fw
            seen.append(fw)
    nft = probe.cmd("nft_ruleset", "nft", "list", "ruleset")
    if nft:
        fw = parse_nft(nft)
        if fw is not None:
            if fw.enabled:
                return fw
            seen.append(fw)
    ipt = probe.cmd("iptables_rules", "iptables", "-S")
    if ipt:
        fw = parse_iptables(ipt)
        if fw is not None:
            if fw.enabled:
                return fw
            seen.append(fw)
    if seen:
        off = seen[0]
        return FirewallFacts(
            product=off.product, enabled=False, default_inbound="allow", rule_count=off.rule_count
        )
    if nft is None and ipt is None:
        if not probe.has_tool("nft", "iptables", "iptables-legacy", "iptables-nft", "ufw", "firewall-cmd"):
            # Nothing to ask: no firewall is installed, which is a failure, not a blind spot.
            return FirewallFacts(product="none", enabled=False, default_inbound="allow", profiles=[])
        raise PartUnavailable("cannot read the firewall state: nft/iptables need root")
    return FirewallFacts(product="none", enabled=False, default_inbound="allow", profiles=[])


# ---- updates ---------------------------------------------------------------------------------------


def _apt_history(probe: Probe) -> tuple[datetime | None, str | None]:
    texts: list[str] = []
    for path in probe.glob("/var/log/apt/history.log*"):
        try:
            data = path.read_bytes()
            texts.append(
                gzip.decompress(data).decode("utf-8", "replace") if path.suffix == ".gz" else data.decode()
            )
        except (OSError, EOFError, gzip.BadGzipFile):
            continue
    latest: tuple[datetime, str] | None = None
    for text in texts:
        for block in re.split(r"\n\s*\n", text):
            m = re.search(r"^Start-Date:\s*(\d{4}-\d{2}-\d{2})\s+(\d{2}:\d{2}:\d{2})", block, re.M)
            if not m or not re.search(r"^(Upgrade|Install):", block, re.M):
                continue
            when = _local_to_utc(datetime.fromisoformat(f"{m.group(1)}T{m.group(2)}"))
            cmd = re.search(r"^Commandline:\s*(.+)$", block, re.M)
            what = cmd.group(1).strip() if cmd else "apt"
            if latest is None or when > latest[0]:
                latest = (when, what[:120])
    return (latest[0], latest[1]) if latest else (None, None)


def _apt_periodic(probe: Probe) -> dict[str, str]:
    values: dict[str, str] = {}
    for path in probe.glob("/etc/apt/apt.conf.d/*"):
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for m in re.finditer(r'^\s*(APT::Periodic::[\w-]+)\s+"([^"]*)"\s*;', text, re.M):
            values[m.group(1)] = m.group(2)  # later files override earlier ones, as apt reads them
    return values


def parse_apt_simulate(text: str) -> tuple[int, int]:
    total = security = 0
    for line in text.splitlines():
        if line.startswith("Inst "):
            total += 1
            if re.search(r"\([^)]*(-security|Debian-Security)[^)]*\)", line):
                security += 1
    return total, security


def _dnf_last(probe: Probe) -> datetime | None:
    latest = None
    for path in probe.glob("/var/log/dnf.rpm.log*"):
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for m in re.finditer(r"^(\S+)\s+\w+\s+(Upgrade|Upgraded|Installed|Install):", text, re.M):
            try:
                when = datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S%z").astimezone(UTC)
            except ValueError:
                continue
            latest = when if latest is None or when > latest else latest
    return latest


def updates(probe: Probe) -> UpdateFacts | None:
    reboot = probe.exists("/var/run/reboot-required") or probe.exists("/run/reboot-required")
    if probe.exists("/var/lib/dpkg/status"):
        periodic = _apt_periodic(probe)
        installed = probe.exists("/usr/bin/unattended-upgrade")
        automatic = installed and periodic.get("APT::Periodic::Unattended-Upgrade", "0") not in ("0", "")
        last, what = _apt_history(probe)
        # The simulation takes seconds and a lot of memory; its answer changes only when the
        # installed packages or the package lists do.
        sim = probe.cmd_cached(
            "apt_simulate",
            "apt-get",
            "-s",
            "-o",
            "Debug::NoLocking=1",
            "dist-upgrade",
            inputs=("/var/lib/dpkg/status", "/var/lib/apt/lists", "/var/cache/apt/pkgcache.bin"),
            timeout=120,
        )
        total, security = parse_apt_simulate(sim) if sim else (None, None)
        return UpdateFacts(
            mechanism="unattended-upgrades",
            automatic=automatic,
            last_update_at=last,
            last_update_what=what,
            pending_total=total,
            pending_security=security,
            reboot_required=reboot,
        )
    if probe.exists("/etc/dnf") or probe.exists("/var/lib/rpm"):
        conf = _kv(probe.read("/etc/dnf/automatic.conf"))
        timers = probe.cmd(
            "dnf_automatic_timer",
            "systemctl",
            "is-enabled",
            "dnf-automatic.timer",
            "dnf-automatic-install.timer",
        )
        states = (timers or "").split()
        timer_on = "enabled" in states
        install_timer = len(states) > 1 and states[1] == "enabled"
        automatic = (
            timer_on and conf.get("apply_updates", "no").lower() in ("yes", "true", "1")
        ) or install_timer
        sec = probe.cmd(
            "dnf_security", "dnf", "-q", "--cacheonly", "updateinfo", "list", "--security", timeout=120
        )
        pending_sec = len([ln for ln in sec.splitlines() if ln.strip()]) if sec is not None else None
        return UpdateFacts(
            mechanism="dnf-automatic",
            automatic=automatic,
            last_update_at=_dnf_last(probe),
            pending_security=pending_sec,
            reboot_required=reboot if reboot else None,
        )
    raise PartUnavailable("no apt or dnf package manager found")


# ---- antivirus -------------------------------------------------------------------------------------

CVD_HEADER = re.compile(rb"ClamAV-VDB:(\d{1,2} \w{3} \d{4} \d{2}-\d{2} [+-]\d{4})")


def clamav_db_date(header: bytes) -> datetime | None:
    """Build time from a ClamAV .cvd/.cld header: ``ClamAV-VDB:26 Nov 2026 03-12 -0500:27467:...``."""
    m = CVD_HEADER.match(header)
    if not m:
        return None
    return datetime.strptime(m.group(1).decode(), "%d %b %Y %H-%M %z").astimezone(UTC)


# Other Linux anti-malware products a commune might run: install path -> name.
OTHER_AV = {
    "/opt/eset/eea": "ESET Endpoint Antivirus",
    "/opt/kaspersky/kesl": "Kaspersky Endpoint Security for Linux",
    "/opt/bkav": "Bkav Endpoint",
}


def antivirus(probe: Probe) -> AntivirusFacts | None:
    products: list[AntivirusProduct] = []
    if any(probe.exists(p) for p in ("/usr/bin/clamscan", "/usr/sbin/clamd", "/usr/bin/clamdscan")):
        dates = []
        for name in ("daily.cld", "daily.cvd", "main.cld", "main.cvd"):
            header = probe.read_bytes(f"/var/lib/clamav/{name}", 512)
            d = clamav_db_date(header) if header else None
            if d is None and header is not None:
                d = datetime.fromtimestamp(probe.path(f"/var/lib/clamav/{name}").stat().st_mtime, UTC)
            if d:
                dates.append(d)
        states = probe.cmd("clamav_services", "systemctl", "is-active", "clamav-daemon", "clamav-freshclam")
        # ClamAV has no real-time scanning by itself; "on" means its daemon or updater is running.
        enabled = None if states is None else "active" in states.split()
        products.append(
            AntivirusProduct(
                name="ClamAV",
                enabled=enabled,
                signature_updated_at=max(dates) if dates else None,
                source="clamav",
            )
        )
    for path, name in OTHER_AV.items():
        if probe.exists(path):
            products.append(AntivirusProduct(name=name, source="path"))
    return AntivirusFacts(products=products)


# ---- accounts and password policy ---------------------------------------------------------------

ADMIN_GROUPS = ("sudo", "wheel", "admin")


def _passwd(probe: Probe) -> list[list[str]]:
    text = probe.read("/etc/passwd")
    if text is None:
        raise PartUnavailable("/etc/passwd unreadable")
    return [ln.split(":") for ln in text.splitlines() if ln.count(":") >= 6]


def accounts(probe: Probe) -> AccountFacts | None:
    users = _passwd(probe)
    shadow_text = probe.read("/etc/shadow")
    shadow = {f[0]: f[1] for f in (ln.split(":") for ln in (shadow_text or "").splitlines()) if len(f) > 1}

    def usable(name: str) -> bool | None:
        if shadow_text is None:
            return None
        pw = shadow.get(name, "")
        return bool(pw) and not pw.startswith(("!", "*"))

    groups = {}
    for ln in (probe.read("/etc/group") or "").splitlines():
        f = ln.split(":")
        if len(f) >= 4:
            groups[f[0]] = (f[2], [m for m in f[3].split(",") if m])
    members: list[str] = []
    for g in ADMIN_GROUPS:
        if g in groups:
            gid, names = groups[g]
            members += names + [u[0] for u in users if u[3] == gid]
    admins = [LocalAccount(name=n, enabled=usable(n)) for n in dict.fromkeys(members) if n != "root"]
    # root counts as an administrator only when it can log in with a password.
    if usable("root"):
        admins.insert(0, LocalAccount(name="root", uid=0, builtin=True, enabled=True))
    uid0 = [u[0] for u in users if u[2] == "0"]
    guest_shell = any(u[0] == "guest" and not u[6].endswith(("nologin", "false")) for u in users)
    lightdm = probe.read("/etc/lightdm/lightdm.conf") or ""
    for path in probe.glob("/etc/lightdm/lightdm.conf.d/*.conf"):
        lightdm += "\n" + path.read_text(encoding="utf-8", errors="replace")
    guest_session = bool(re.search(r"^\s*allow-guest\s*=\s*true", lightdm, re.M))
    return AccountFacts(
        admins=admins,
        guest_enabled=guest_shell or guest_session,
        builtin_admin_enabled=usable("root"),
        uid0_accounts=uid0,
    )


def _pam_lines(probe: Probe, *files: str) -> list[str]:
    out = []
    for f in files:
        for ln in (probe.read(f"/etc/pam.d/{f}") or "").splitlines():
            ln = ln.strip()
            if ln and not ln.startswith("#"):
                out.append(ln)
    return out


def _arg(line: str, key: str) -> str | None:
    m = re.search(rf"\b{key}=(\S+)", line)
    return m.group(1) if m else None


def _conf_dir(probe: Probe, main: str, d: str) -> dict[str, str]:
    values = _kv(probe.read(main))
    for p in probe.glob(d):
        values.update(_kv(p.read_text(encoding="utf-8", errors="replace")))
    return values


def _login_defs(probe: Probe) -> dict[str, str]:
    defs: dict[str, str] = {}
    for line in (probe.read("/etc/login.defs") or "").splitlines():
        fields = line.split()
        if len(fields) >= 2 and not fields[0].startswith("#"):
            defs[fields[0]] = fields[1]
    return defs


def _apply_ageing(policy: PasswordPolicy, defs: dict[str, str]) -> None:
    """PASS_MAX_DAYS (99999 or negative: never expires) and PASS_MIN_DAYS of /etc/login.defs."""
    max_days = defs.get("PASS_MAX_DAYS")
    if max_days and max_days.lstrip("-").isdigit():
        policy.max_age_days = int(max_days)
        policy.never_expires = int(max_days) >= 99999 or int(max_days) < 0
    if defs.get("PASS_MIN_DAYS", "").isdigit():
        policy.min_age_days = int(defs["PASS_MIN_DAYS"])


def _apply_quality(policy: PasswordPolicy, probe: Probe, pw_lines: list[str]) -> None:
    """Length and complexity: pam_pwquality/pam_cracklib when stacked, else pam_unix's minlen."""
    quality = [ln for ln in pw_lines if "pam_pwquality.so" in ln or "pam_cracklib.so" in ln]
    if not quality:
        _apply_unix_minlen(policy, pw_lines)
        return
    conf = _conf_dir(probe, "/etc/security/pwquality.conf", "/etc/security/pwquality.conf.d/*.conf")
    for key in ("minlen", "minclass", "dcredit", "ucredit", "lcredit", "ocredit"):
        v = _arg(quality[0], key)
        if v is not None:
            conf[key] = v  # the module's arguments win over the file
    policy.min_length = int(conf.get("minlen", "8"))  # libpwquality's default
    credits = [int(conf.get(k, "0")) for k in ("dcredit", "ucredit", "lcredit", "ocredit")]
    policy.complexity = int(conf.get("minclass", "0")) >= 3 or sum(1 for c in credits if c < 0) >= 3


def _apply_unix_minlen(policy: PasswordPolicy, pw_lines: list[str]) -> None:
    unix = [ln for ln in pw_lines if "pam_unix.so" in ln]
    ml = _arg(unix[0], "minlen") if unix else None
    if ml and ml.isdigit():
        policy.min_length = int(ml)
    else:
        # pam_unix(8): "minlen ... The default value is 6"; a PC with only pam_unix enforces 6.
        policy.min_length = 6 if unix else None
    policy.complexity = False if pw_lines else None


def _apply_history(policy: PasswordPolicy, probe: Probe, pw_lines: list[str]) -> None:
    """Remembered passwords: pam_pwhistory (its conf file's default 10) or pam_unix remember=."""
    history = [
        ln for ln in pw_lines if "pam_pwhistory.so" in ln or ("pam_unix.so" in ln and "remember=" in ln)
    ]
    if not history:
        if pw_lines:
            policy.history = 0
        return
    r = _arg(history[0], "remember")
    if r is None and "pam_pwhistory.so" in history[0]:
        r = _kv(probe.read("/etc/security/pwhistory.conf")).get("remember", "10")
    policy.history = int(r) if r and r.isdigit() else None


def _first_arg(lines: list[str], key: str) -> str | None:
    return next((v for v in (_arg(ln, key) for ln in lines) if v), None)


def _apply_lockout(policy: PasswordPolicy, probe: Probe, auth_lines: list[str]) -> None:
    """Lockout after failed logins: pam_faillock/pam_tally2 arguments, then faillock.conf, then defaults."""
    faillock = [ln for ln in auth_lines if "pam_faillock.so" in ln or "pam_tally2.so" in ln]
    if not faillock:
        if auth_lines:
            policy.lockout_threshold = 0  # no lockout module: failed logins never lock an account
        return
    conf = _kv(probe.read("/etc/security/faillock.conf"))
    deny = _first_arg(faillock, "deny") or conf.get("deny", "3")
    unlock = _first_arg(faillock, "unlock_time") or conf.get("unlock_time", "600")
    policy.lockout_threshold = int(deny)
    policy.lockout_duration_minutes = int(unlock) // 60 if unlock.isdigit() else None


def password_policy(probe: Probe) -> PasswordPolicy | None:
    defs = _login_defs(probe)
    pw_lines = _pam_lines(probe, "common-password", "system-auth", "password-auth")
    auth_lines = _pam_lines(probe, "common-auth", "system-auth", "password-auth")
    if not defs and not pw_lines:
        raise PartUnavailable("no /etc/login.defs or PAM configuration")
    policy = PasswordPolicy(source="login.defs/PAM")
    _apply_ageing(policy, defs)
    _apply_quality(policy, probe, pw_lines)
    _apply_history(policy, probe, pw_lines)
    _apply_lockout(policy, probe, auth_lines)
    return policy


# ---- screen lock -----------------------------------------------------------------------------------


def parse_dconf_keyfiles(texts: list[str]) -> tuple[int | None, bool | None]:
    delay = lock = None
    section = ""
    for text in texts:
        for raw in text.splitlines():
            line = raw.strip()
            if line.startswith("["):
                section = line.strip("[]")
            elif "=" in line and not line.startswith("#"):
                k, _, v = (x.strip() for x in line.partition("="))
                if section == "org/gnome/desktop/session" and k == "idle-delay":
                    delay = int(v.split()[-1])
                elif section == "org/gnome/desktop/screensaver" and k == "lock-enabled":
                    lock = v.lower() == "true"
    return delay, lock


def screen_lock(probe: Probe) -> ScreenLockFacts | None:
    files = [p for p in probe.glob("/etc/dconf/db/*.d/*") if p.is_file()]
    delay, lock = parse_dconf_keyfiles([p.read_text(encoding="utf-8", errors="replace") for p in files])
    if delay is not None or lock is not None:
        return ScreenLockFacts(timeout_seconds=delay, lock_enabled=lock, source="dconf")
    idle = probe.cmd("gsettings_idle_delay", "gsettings", "get", "org.gnome.desktop.session", "idle-delay")
    locked = probe.cmd(
        "gsettings_lock_enabled", "gsettings", "get", "org.gnome.desktop.screensaver", "lock-enabled"
    )
    if idle and idle.strip():
        return ScreenLockFacts(
            timeout_seconds=int(idle.split()[-1]),
            lock_enabled=(locked.strip() == "true") if locked else None,
            source="gsettings",
        )
    if not probe.glob("/usr/share/xsessions/*.desktop") and not probe.glob(
        "/usr/share/wayland-sessions/*.desktop"
    ):
        return None  # no graphical desktop at all: there is no screen to lock (not applicable)
    raise PartUnavailable("no GNOME screen-lock settings (another desktop environment?)")


# ---- remote access, listeners, SMB -----------------------------------------------------------------


def listening(probe: Probe) -> list[Listener] | None:
    found = probe.listening()
    if found is None:
        raise PartUnavailable(probe.listening_error or "could not list listening sockets")
    return found


def _fmt(lis: Listener) -> str:
    return f"[{lis.address}]:{lis.port}" if ":" in lis.address else f"{lis.address}:{lis.port}"


SSHD_CONFIG = "/etc/ssh/sshd_config"
SSHD_DROP_INS = "/etc/ssh/sshd_config.d"


def _sshd_config(probe: Probe) -> tuple[dict[str, list[str]], str | None]:
    """sshd's keywords (lower case) -> values in the order sshd reads them, and why they are not
    all known: a file that exists but cannot be read (0600 and the agent is not root, usual on
    RHEL/Fedora and CIS-hardened hosts) may set any of them, so nothing is taken from defaults."""
    try:
        main = probe.read_config(SSHD_CONFIG)
        texts = [main or ""]
        for path in probe.config_dir(SSHD_DROP_INS, ".conf"):
            texts.append(probe.read_config(path) or "")
    except OSError as exc:
        return {}, str(exc)
    # sshd takes the FIRST value of a keyword; Include'd drop-ins come first on Debian/Ubuntu.
    ordered = texts[1:] + texts[:1]
    out: dict[str, list[str]] = {}
    for text in ordered:
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#") or line.lower().startswith("match "):
                if line.lower().startswith("match "):
                    break  # Match blocks apply to some connections only
                continue
            k, _, v = line.partition(" ")
            out.setdefault(k.lower(), []).append(v.strip())
    return out, None


def parse_ufw_allowed(status: str, port: int) -> list[str] | None:
    """Who ufw lets reach ``port``: ["Any"] for "Anywhere", or the source networks."""
    if "Status: active" not in status:
        return None
    found: list[str] = []
    for line in status.splitlines():
        m = re.match(r"^(\S+)(?: \(v6\))?\s+(ALLOW|LIMIT)(?: IN)?\s+(.+?)\s*$", line)
        if not m:
            continue
        target = m.group(1).split("/")[0]
        ports = re.split(r"[,:]", target)
        names = {"OpenSSH": 22, "ssh": 22}
        if str(port) not in ports and names.get(target) != port:
            continue
        src = m.group(3).replace(" (v6)", "")
        found.append("Any" if src.startswith("Anywhere") else src)
    return found


def remote_access(probe: Probe) -> RemoteAccessFacts | None:
    found = probe.listening()
    listeners = found or []
    cfg, unreadable = _sshd_config(probe)
    ports = {int(p) for p in cfg.get("port", ["22"]) if p.isdigit()} or {22}

    def is_sshd(lis: Listener) -> bool:
        if unreadable:  # its Port is not known: sshd by name, or port 22 when the name is hidden
            return (lis.process or "").startswith("sshd") or (lis.process is None and lis.port == 22)
        return lis.port in ports and (lis.process or "sshd").startswith("sshd")

    ssh_listen = [_fmt(lis) for lis in listeners if is_sshd(lis)]
    has_sshd = probe.exists("/usr/sbin/sshd")
    ssh = RemoteService(enabled=bool(ssh_listen) if has_sshd or ssh_listen else False, port=min(ports))
    ssh.listening = ssh_listen
    if has_sshd and found is None:
        ssh.enabled = None  # installed, and whether it listens could not be seen
        probe.not_observed("remote_access.ssh.enabled", probe.listening_error or "listeners unknown")
    elif has_sshd and unreadable and not ssh_listen:
        ssh.enabled = None  # nothing on port 22, but the unread file may move sshd to another port
        probe.not_observed("remote_access.ssh.enabled", f"its Port is not known: {unreadable}")
    if has_sshd and unreadable:
        # Not sshd's defaults: the file that could not be read may set either keyword.
        probe.not_observed("remote_access.ssh.root_login", unreadable)
        probe.not_observed("remote_access.ssh.password_auth", unreadable)
    elif has_sshd:
        ssh.root_login = (cfg.get("permitrootlogin") or ["prohibit-password"])[0].lower()
        ssh.password_auth = (cfg.get("passwordauthentication") or ["yes"])[0].lower() == "yes"
    status = probe.cmd("ufw_status", "ufw", "status", "verbose")
    if status:
        ssh.allowed_from = parse_ufw_allowed(status, ssh.port or 22)
    rdp_listen = [_fmt(lis) for lis in listeners if lis.port == 3389]
    rdp = RemoteService(enabled=bool(rdp_listen), port=3389, listening=rdp_listen)
    if found is None:
        rdp.enabled = None
        probe.not_observed("remote_access.rdp.enabled", probe.listening_error or "listeners unknown")
    if status and rdp_listen:
        rdp.allowed_from = parse_ufw_allowed(status, 3389)
    return RemoteAccessFacts(ssh=ssh, rdp=rdp)


SMB1_PROTOCOLS = {"core", "coreplus", "lanman1", "lanman2", "nt1"}


def smb(probe: Probe) -> SmbFacts | None:
    found = probe.listening()
    running = None if found is None else any(lis.port in (445, 139) for lis in found)
    if running is None:
        probe.not_observed("smb.server_running", probe.listening_error or "listeners unknown")
    conf = probe.read("/etc/samba/smb.conf")
    if conf is None:
        # Samba does not start without smb.conf, so "not seen listening" still means no SMBv1 then.
        return SmbFacts(server_running=running, smb1_enabled=None if running else False)
    min_proto = None
    section = ""
    for raw in conf.splitlines():
        line = raw.strip()
        if line.startswith("["):
            section = line.strip("[]").lower()
        elif section == "global" and re.match(r"(server )?min protocol\s*=", line, re.I):
            min_proto = line.split("=", 1)[1].strip()
    if min_proto is None:
        version = probe.cmd("smbd_version", "smbd", "-V") or ""
        m = re.search(r"Version (\d+)\.(\d+)", version)
        # Samba 4.11 raised the default minimum to SMB2_02; older releases accept SMBv1.
        smb1 = (int(m.group(1)), int(m.group(2))) < (4, 11) if m else None
    else:
        smb1 = min_proto.lower() in SMB1_PROTOCOLS
    return SmbFacts(
        server_running=running, smb1_enabled=smb1 if running is not False else False, min_protocol=min_proto
    )


# ---- encryption, time, boot, TPM -------------------------------------------------------------------


def parse_lsblk(text: str) -> EncryptionFacts:
    data = json.loads(text)
    volumes: list[EncryptedVolume] = []

    def walk(node: dict[str, Any], crypt: bool) -> None:
        crypt = crypt or node.get("type") == "crypt" or node.get("fstype") == "crypto_LUKS"
        mounts = node.get("mountpoints") or [node.get("mountpoint")]
        for mp in mounts:
            if mp in ("/", "/home", "/boot") or (mp and mp.startswith("/srv")):
                volumes.append(
                    EncryptedVolume(
                        name=mp,
                        encrypted=crypt,
                        protection_on=crypt,
                        method="LUKS" if crypt else None,
                        system=mp == "/",
                    )
                )
        for child in node.get("children") or []:
            walk(child, crypt)

    for dev in data.get("blockdevices", []):
        walk(dev, False)
    system = [v for v in volumes if v.system]
    return EncryptionFacts(
        product="luks", volumes=volumes, system_encrypted=system[0].encrypted if system else None
    )


def encryption(probe: Probe) -> EncryptionFacts | None:
    out = probe.cmd("lsblk", "lsblk", "-J", "-o", "NAME,TYPE,FSTYPE,MOUNTPOINT")
    if not out:
        raise PartUnavailable("lsblk not available")
    return parse_lsblk(out)


def time_sync(probe: Probe) -> TimeSyncFacts | None:
    chrony = probe.cmd("chronyc_tracking", "chronyc", "-n", "tracking")
    if chrony and "Leap status" in chrony:
        kv = _kv(chrony, sep=":")
        offset = None
        m = re.match(r"([\d.]+) seconds (fast|slow)", kv.get("System time", ""))
        if m:
            offset = float(m.group(1)) * (1 if m.group(2) == "fast" else -1)
        ref = re.search(r"\(([^)]+)\)", kv.get("Reference ID", ""))
        return TimeSyncFacts(
            service="chronyd",
            enabled=True,
            synchronized=kv.get("Leap status") != "Not synchronised",
            source=ref.group(1) if ref else None,
            offset_seconds=offset,
        )
    show = probe.cmd("timedatectl_show", "timedatectl", "show")
    if not show:
        raise PartUnavailable("neither chronyc nor timedatectl answered")
    kv = _kv(show)
    sync = _kv(probe.cmd("timedatectl_timesync", "timedatectl", "show-timesync") or "")
    return TimeSyncFacts(
        service="systemd-timesyncd",
        enabled=kv.get("NTP") == "yes",
        synchronized=kv.get("NTPSynchronized") == "yes",
        source=sync.get("ServerName") or None,
    )


SECURE_BOOT_VAR = "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"


def boot(probe: Probe) -> BootFacts | None:
    if not probe.exists("/sys/firmware"):
        raise PartUnavailable("/sys/firmware not visible (container?)")
    uefi = probe.exists("/sys/firmware/efi")
    if not uefi:
        return BootFacts(uefi=False, secure_boot=False)
    raw = probe.read_bytes(SECURE_BOOT_VAR)
    # efivarfs files start with 4 bytes of attributes, then the value.
    return BootFacts(uefi=True, secure_boot=(raw[4] == 1) if raw and len(raw) >= 5 else None)


def tpm(probe: Probe) -> TpmFacts | None:
    if not probe.exists("/sys/class"):
        raise PartUnavailable("/sys/class not visible (container?)")
    base = "/sys/class/tpm/tpm0"
    if not probe.exists(base):
        return TpmFacts(present=False)
    major = (probe.read(f"{base}/tpm_version_major") or "").strip()
    version = {"2": "2.0", "1": "1.2"}.get(major)
    if version is None:
        desc = probe.read(f"{base}/device/description") or ""
        caps = probe.read(f"{base}/device/caps") or probe.read(f"{base}/caps") or ""
        if "2.0" in desc:
            version = "2.0"
        elif "TCG version: 1.2" in caps:
            version = "1.2"
    return TpmFacts(present=True, version=version)
