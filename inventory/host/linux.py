"""Host facts on Linux: /sys, /proc, /etc, psutil, and a few commands (dpkg-query or rpm, smartctl).

Exposes the same functions as ``inventory.host.windows``; ``inventory.host`` picks one of them.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, date, datetime
from pathlib import Path

import psutil

from inventory.facts import (
    BatteryFacts,
    CpuFacts,
    DiskFacts,
    FilesystemFacts,
    MemoryFacts,
    NetworkInterfaceFacts,
    OsFacts,
    SoftwareFacts,
    SystemFacts,
    UserFacts,
)
from inventory.health import HealthFacts
from inventory.host import shutdowns, smart, sysfs
from inventory.host.commands import CommandError, run, which
from inventory.host.cpu_launch import launch_year, max_mhz_from_model
from inventory.report import HostIdentity

ROOT = "/"
# Pseudo and read-only image filesystems that psutil may still list as "physical".
_SKIP_FSTYPES = frozenset({"squashfs", "iso9660", "udf", "overlay", "tmpfs", "devtmpfs", "ramfs", "erofs"})
_ADMIN_GROUPS = ("sudo", "wheel", "admin")
_NO_LOGIN_SHELLS = ("nologin", "false")
_ZERO_MAC = "00:00:00:00:00:00"


@contextmanager
def snapshot() -> Iterator[None]:
    """One collection pass. Linux reads files on demand, so there is nothing to prefetch."""
    yield


def hostname() -> str:
    return socket.gethostname()


def _path(*parts: str) -> Path:
    return Path(ROOT, *parts)


def _cpuinfo() -> dict[str, str]:
    """The first processor block of /proc/cpuinfo (the others repeat it on x86)."""
    info: dict[str, str] = {}
    try:
        with open(_path("proc/cpuinfo"), encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if not line.strip():
                    if "model name" in info or "vendor_id" in info:
                        break
                    continue
                key, _, value = line.partition(":")
                info.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return info


def _machine_id() -> str | None:
    for name in ("etc/machine-id", "var/lib/dbus/machine-id"):
        value = sysfs.read(_path(name))
        if value:
            return value
    return None


def system() -> SystemFacts:
    d = sysfs.dmi(ROOT)
    vendor = sysfs.clean_text(d["sys_vendor"])
    model = sysfs.clean_text(d["product_name"])
    version = sysfs.clean_text(d["product_version"])
    # Lenovo puts the machine type (20L5CTO1WW) in product_name and "ThinkPad T480" in product_version.
    if vendor and vendor.upper() == "LENOVO" and version and not version.isalnum():
        model = version
    chassis_type = None
    if d["chassis_type"] and d["chassis_type"].isdigit():
        chassis_type = int(d["chassis_type"])
    virtual = sysfs.is_virtual(vendor, model, d["bios_vendor"]) or "hypervisor" in _cpuinfo().get("flags", "")
    chassis = "vm" if virtual else sysfs.chassis_class(chassis_type, vendor, model)
    return SystemFacts(
        hostname=hostname(),
        vendor=vendor,
        model=model,
        serial=sysfs.clean_serial(d["product_serial"]),
        chassis=chassis,
        bios_vendor=sysfs.clean_text(d["bios_vendor"]),
        bios_version=sysfs.clean_text(d["bios_version"]),
        bios_date=sysfs.parse_dmi_date(d["bios_date"]),
        machine_id=_machine_id(),
        virtual=virtual,
    )


def _os_release() -> dict[str, str]:
    for name in ("etc/os-release", "usr/lib/os-release"):
        text = sysfs.read(_path(name))
        if text:
            out: dict[str, str] = {}
            for line in text.splitlines():
                key, sep, value = line.partition("=")
                if sep and not key.startswith("#"):
                    out[key.strip()] = value.strip().strip("\"'")
            return out
    return {}


def _birth_time(path: str) -> float | None:
    """Creation time of ``path`` via statx(2) (Python 3.11's os.stat has no st_birthtime on Linux)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        statx = libc.statx
    except (OSError, AttributeError):
        return None
    buf = ctypes.create_string_buffer(256)  # struct statx is 256 bytes
    at_fdcwd, statx_btime = -100, 0x800
    if statx(at_fdcwd, os.fsencode(path), 0, statx_btime, buf) != 0:
        return None
    raw = buf.raw
    if not int.from_bytes(raw[0:4], sys.byteorder) & statx_btime:
        return None
    return float(int.from_bytes(raw[80:88], sys.byteorder, signed=True))  # stx_btime.tv_sec


def _install_date() -> datetime | None:
    """The oldest trace of installation: installer logs, or the birth of the root filesystem."""
    candidates: list[float] = []
    installer = _path("var/log/installer")
    with suppress(OSError):
        candidates += [e.stat().st_mtime for e in os.scandir(installer) if e.is_file()]
    for name in ("root/anaconda-ks.cfg", "var/log/anaconda"):
        with suppress(OSError):
            candidates.append(_path(name).stat().st_mtime)
    born = _birth_time(str(_path()))
    if born:
        candidates.append(born)
    plausible = [c for c in candidates if c > 946684800]  # after 2000-01-01: ignore zeroed clocks
    return datetime.fromtimestamp(min(plausible), UTC) if plausible else None


def os_info() -> OsFacts:
    rel = _os_release()
    uname = os.uname()
    return OsFacts(
        family="linux",
        name=rel.get("NAME") or "Linux",
        version=rel.get("VERSION_ID"),
        build=rel.get("BUILD_ID"),
        edition=rel.get("VARIANT"),
        kernel=uname.release,
        architecture=uname.machine,
        boot_time=datetime.fromtimestamp(psutil.boot_time(), UTC),
        install_date=_install_date(),
        distro_id=rel.get("ID"),
        display_version=rel.get("VERSION") or rel.get("PRETTY_NAME"),
    )


def cpu() -> CpuFacts:
    info = _cpuinfo()
    model = info.get("model name") or info.get("Model") or info.get("Hardware") or info.get("Processor")
    vendor = {"GenuineIntel": "Intel", "AuthenticAMD": "AMD"}.get(
        info.get("vendor_id", ""), info.get("vendor_id")
    )
    max_khz = sysfs.read_int(_path("sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq"))
    max_mhz = round(max_khz / 1000, 1) if max_khz else max_mhz_from_model(model)
    return CpuFacts(
        model=" ".join(model.split()) if model else None,
        vendor=vendor,
        physical_cores=psutil.cpu_count(logical=False),
        threads=psutil.cpu_count(logical=True),
        max_mhz=max_mhz,
        launch_year=launch_year(model),
    )


def memory() -> MemoryFacts:
    vm = psutil.virtual_memory()
    return MemoryFacts(
        total_bytes=vm.total, available_bytes=vm.available, swap_total_bytes=psutil.swap_memory().total
    )


def _majmin(dev: int) -> str:
    return f"{os.major(dev)}:{os.minor(dev)}"


def _root_majmin() -> str | None:
    """The block device holding /: st_dev, or the mount source when st_dev is anonymous (btrfs)."""
    majmin = _majmin(os.stat(_path()).st_dev)
    if sysfs.block_path(ROOT, majmin):
        return majmin
    source = None
    for line in (sysfs.read(_path("proc/self/mounts")) or "").splitlines():
        fields = line.split()
        if len(fields) > 1 and fields[1] == "/" and fields[0].startswith("/dev/"):
            source = fields[0]
    if source:
        try:
            return _majmin(os.stat(source).st_rdev)
        except OSError:
            return None
    return None


def disks() -> list[DiskFacts]:
    found = sysfs.block_disks(ROOT)
    root = _root_majmin()
    system_disks = sysfs.disks_under(ROOT, root) if root else set()
    with_smart = smart.smartctl_available()
    for disk in found:
        disk.system_disk = disk.name in system_disks if root else None
        # virtio and MMC devices have no SMART; asking costs a process for a certain "unknown".
        if with_smart and disk.bus not in ("virtio", "mmc"):
            disk.smart = smart.read_smart(f"/dev/{disk.name}")
    return found


def filesystems() -> list[FilesystemFacts]:
    out: list[FilesystemFacts] = []
    seen: set[str] = set()
    parts = sorted(psutil.disk_partitions(all=False), key=lambda p: len(p.mountpoint))
    for part in parts:
        if part.fstype in _SKIP_FSTYPES or part.device in seen:
            continue  # the same device mounted twice (bind mounts, btrfs subvolumes) counts once
        try:
            usage = psutil.disk_usage(part.mountpoint)
        except OSError:
            continue
        seen.add(part.device)
        encrypted = None
        if part.device.startswith("/dev/"):
            try:
                encrypted = sysfs.is_encrypted(ROOT, _majmin(os.stat(part.device).st_rdev))
            except OSError:
                encrypted = None
        out.append(
            FilesystemFacts(
                mountpoint=part.mountpoint,
                device=part.device,
                fstype=part.fstype,
                total_bytes=usage.total,
                used_bytes=usage.used,
                free_bytes=usage.free,
                encrypted=encrypted,
            )
        )
    return out


def batteries() -> list[BatteryFacts]:
    return sysfs.batteries(ROOT)


def _cidr(address: str, netmask: str | None) -> str:
    address = address.split("%", 1)[0]
    if not netmask:
        return address
    try:
        if ":" in netmask:  # IPv6 masks come as ffff:ffff:...; ip_interface wants a prefix length
            netmask = str(bin(int(ipaddress.IPv6Address(netmask))).count("1"))
        return str(ipaddress.ip_interface(f"{address}/{netmask}"))
    except ValueError:
        return address


def network_interfaces() -> list[NetworkInterfaceFacts]:
    addrs = psutil.net_if_addrs()
    stats = psutil.net_if_stats()
    out: list[NetworkInterfaceFacts] = []
    for name in sorted(set(addrs) | set(stats)):
        info = sysfs.net_interface(ROOT, name)
        mac = info["mac"]
        ipv4: list[str] = []
        ipv6: list[str] = []
        for a in addrs.get(name, []):
            if a.family == socket.AF_INET:
                ipv4.append(_cidr(a.address, a.netmask))
            elif a.family == socket.AF_INET6:
                ipv6.append(_cidr(a.address, a.netmask))
            elif a.family == psutil.AF_LINK and not mac:
                mac = a.address.lower()
        st = stats.get(name)
        speed = info["speed_mbps"] or (st.speed if st and st.speed > 0 else None)
        out.append(
            NetworkInterfaceFacts(
                name=name,
                mac=None if not mac or mac == _ZERO_MAC else str(mac),
                ipv4=ipv4,
                ipv6=ipv6,
                speed_mbps=speed,
                up=st.isup if st else None,
                physical=bool(info["physical"]),
                kind=str(info["kind"]),
            )
        )
    return out


def _dpkg() -> list[SoftwareFacts]:
    out = run(["dpkg-query", "-W", "-f=${binary:Package}\\t${Version}\\t${db:Status-Abbrev}\\n"], timeout=30)
    pkgs: list[SoftwareFacts] = []
    for line in out.stdout.splitlines():
        fields = line.split("\t")
        # Status-Abbrev is want/status/error; the second letter "i" means installed.
        if len(fields) >= 3 and len(fields[2]) >= 2 and fields[2][1] == "i":
            pkgs.append(SoftwareFacts(name=fields[0], version=fields[1] or None, source="dpkg"))
    return pkgs


def _rpm() -> list[SoftwareFacts]:
    out = run(
        ["rpm", "-qa", "--qf", "%{NAME}\\t%{VERSION}-%{RELEASE}\\t%{VENDOR}\\t%{INSTALLTIME}\\n"], timeout=60
    )
    pkgs: list[SoftwareFacts] = []
    for line in out.stdout.splitlines():
        fields = line.split("\t")
        if len(fields) < 4 or fields[0] == "gpg-pubkey":
            continue
        installed = datetime.fromtimestamp(int(fields[3]), UTC).date() if fields[3].isdigit() else None
        vendor = None if fields[2] in ("", "(none)") else fields[2]
        pkgs.append(
            SoftwareFacts(
                name=fields[0], version=fields[1], vendor=vendor, install_date=installed, source="rpm"
            )
        )
    return pkgs


def software() -> list[SoftwareFacts]:
    if which("dpkg-query"):
        return _dpkg()
    if which("rpm"):
        return _rpm()
    raise CommandError("no package database: neither dpkg-query nor rpm is installed")


def _colon_file(name: str) -> list[list[str]]:
    text = sysfs.read(_path(name))
    return [line.split(":") for line in (text or "").splitlines() if line and not line.startswith("#")]


def users() -> list[UserFacts]:
    passwd = _colon_file("etc/passwd")
    if not passwd:
        raise FileNotFoundError(f"{_path('etc/passwd')}: missing or empty")
    admin_members: set[str] = set()
    admin_gids: set[str] = set()
    for fields in _colon_file("etc/group"):
        if len(fields) >= 4 and fields[0] in _ADMIN_GROUPS:
            admin_gids.add(fields[2])
            admin_members.update(m for m in fields[3].split(",") if m)
    shadow = {f[0]: f for f in _colon_file("etc/shadow") if len(f) >= 2}
    today = (datetime.now(UTC).date() - date(1970, 1, 1)).days
    out: list[UserFacts] = []
    for fields in passwd:
        if len(fields) < 7 or not fields[2].isdigit():
            continue
        name, uid, gid, shell = fields[0], int(fields[2]), fields[3], fields[6]
        if not (uid == 0 or 1000 <= uid < 65534):
            continue  # system accounts
        sh = shadow.get(name)
        locked = None
        expired = False
        if sh:
            locked = sh[1].startswith("!") or sh[1] in ("*", "!!")
            expired = len(sh) > 7 and sh[7].isdigit() and int(sh[7]) <= today
        out.append(
            UserFacts(
                name=name,
                uid=str(uid),
                admin=uid == 0 or name in admin_members or gid in admin_gids,
                disabled=shell.rsplit("/", 1)[-1] in _NO_LOGIN_SHELLS or expired,
                password_locked=locked,
            )
        )
    return out


def health() -> HealthFacts:
    return shutdowns.unexpected_shutdowns(ROOT)


def identity() -> HostIdentity:
    d = sysfs.dmi(ROOT)
    return HostIdentity(
        machine_id=_machine_id(),
        serial=sysfs.clean_serial(d["product_serial"]),
        mac=sysfs.first_physical_mac(ROOT),
    )
