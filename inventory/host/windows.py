"""Host facts on Windows: CIM/WMI classes and the registry, read through PowerShell JSON output.

Exposes the same functions as ``inventory.host.linux``. All queries of one collection run in one
PowerShell process (see ``winps``); the parsing below is plain Python and is tested on recorded output.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from inventory.facts import (
    BatteryFacts,
    CpuFacts,
    DiskFacts,
    FilesystemFacts,
    MemoryFacts,
    NetworkInterfaceFacts,
    OsFacts,
    SmartFacts,
    SoftwareFacts,
    SystemFacts,
    UserFacts,
)
from inventory.health import HealthFacts
from inventory.host import smart, winps
from inventory.host.cpu_launch import launch_year
from inventory.host.sysfs import chassis_class, clean_serial, clean_text, is_virtual
from inventory.report import HostIdentity

# MSFT_PhysicalDisk.BusType -> our bus names.
_BUS = {1: "scsi", 3: "sata", 7: "usb", 8: "scsi", 10: "scsi", 11: "sata", 12: "mmc", 13: "mmc", 17: "nvme"}
_HEALTH = {0: "healthy", 1: "warning", 2: "unhealthy", 5: "unknown"}
# Win32_Battery.BatteryStatus -> the status words Linux uses.
_BATTERY_STATUS = {
    1: "Discharging", 2: "Not charging", 3: "Full", 4: "Discharging", 5: "Discharging",
    6: "Charging", 7: "Charging", 8: "Charging", 9: "Charging", 11: "Not charging",
}  # fmt: skip
_CHEMISTRY = {3: "Lead-acid", 4: "NiCd", 5: "NiMH", 6: "Li-ion", 7: "Zinc-air", 8: "Li-poly"}
_WIRELESS = re.compile(r"wi-?fi|wireless|wlan|802\.11", re.IGNORECASE)
_UNSET_SPEED = 2**63 - 1  # Win32_NetworkAdapter.Speed of a disconnected adapter
_INCIDENT_GAP = timedelta(minutes=10)  # 41 and 6008 logged at one boot describe one incident


@contextmanager
def snapshot() -> Iterator[None]:
    with winps.snapshot():
        yield


def hostname() -> str:
    return socket.gethostname()


def _dt(value: Any) -> datetime | None:
    """Dates as Windows PowerShell 5.1 (/Date(ms)/), PowerShell 7 (ISO 8601) or WMI (DMTF) print them."""
    if isinstance(value, dict):
        value = value.get("value", value.get("DateTime"))
    if not isinstance(value, str) or not value:
        return None
    m = re.fullmatch(r"/Date\((-?\d+)(?:[+-]\d{4})?\)/", value)
    if m:
        return datetime.fromtimestamp(int(m.group(1)) / 1000, UTC)
    m = re.fullmatch(r"(\d{14})\.\d{6}([+-]\d{3})", value)
    if m:
        offset = timezone(timedelta(minutes=int(m.group(2))))
        return datetime.strptime(m.group(1), "%Y%m%d%H%M%S").replace(tzinfo=offset).astimezone(UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def system() -> SystemFacts:
    data = winps.many(
        "ComputerSystem",
        "BIOS",
        "SystemEnclosure",
        "OperatingSystem",
        "MachineGuid",
        optional=("SystemEnclosure", "OperatingSystem", "MachineGuid"),
    )
    cs = winps.one("ComputerSystem", data["ComputerSystem"])
    bios = data["BIOS"][0] if data["BIOS"] else {}
    enclosure = data["SystemEnclosure"][0] if data["SystemEnclosure"] else {}
    vendor, model = clean_text(cs.get("Manufacturer")), clean_text(cs.get("Model"))
    types = enclosure.get("ChassisTypes") or []
    chassis_type = _int(types[0] if isinstance(types, list) and types else types)
    virtual = is_virtual(vendor, model, bios.get("Manufacturer"))
    guid = data["MachineGuid"][0].get("MachineGuid") if data["MachineGuid"] else None
    return SystemFacts(
        hostname=cs.get("Name") or hostname(),
        vendor=vendor,
        model=model,
        serial=clean_serial(bios.get("SerialNumber")),
        chassis="vm" if virtual else chassis_class(chassis_type, vendor, model),
        bios_vendor=clean_text(bios.get("Manufacturer")),
        bios_version=clean_text(bios.get("SMBIOSBIOSVersion")),
        bios_date=(d.date() if (d := _dt(bios.get("ReleaseDate"))) else None),
        machine_id=guid,
        virtual=virtual,
    )


def os_info() -> OsFacts:
    os_row = winps.one("OperatingSystem", winps.rows("OperatingSystem"))
    cv_rows = winps.rows("CurrentVersion", required=False)
    cv = cv_rows[0] if cv_rows else {}
    build = str(os_row.get("BuildNumber") or cv.get("CurrentBuild") or "") or None
    if build and cv.get("UBR") is not None:
        build = f"{build}.{cv['UBR']}"
    caption = clean_text(os_row.get("Caption")) or "Windows"
    return OsFacts(
        family="windows",
        name=caption.removeprefix("Microsoft ").strip(),
        version=os_row.get("Version"),
        build=build,
        edition=cv.get("EditionID"),
        kernel=os_row.get("Version"),
        architecture=os_row.get("OSArchitecture"),
        boot_time=_dt(os_row.get("LastBootUpTime")),
        install_date=_dt(os_row.get("InstallDate")),
        distro_id="windows",
        display_version=cv.get("DisplayVersion") or cv.get("ReleaseId"),
    )


def cpu() -> CpuFacts:
    procs = winps.rows("Processor")
    if not procs:
        raise winps.WindowsQueryError("Processor: no instance returned")
    model = clean_text(procs[0].get("Name"))
    vendor = procs[0].get("Manufacturer")
    if isinstance(vendor, str):
        vendor = {"GenuineIntel": "Intel", "AuthenticAMD": "AMD"}.get(vendor, vendor)
    cores = [_int(p.get("NumberOfCores")) for p in procs]
    threads = [_int(p.get("NumberOfLogicalProcessors")) for p in procs]
    return CpuFacts(
        model=model,
        vendor=vendor,
        physical_cores=sum(c for c in cores if c) or None,  # one row per socket
        threads=sum(t for t in threads if t) or None,
        max_mhz=float(mhz) if (mhz := _int(procs[0].get("MaxClockSpeed"))) else None,
        launch_year=launch_year(model),
    )


def memory() -> MemoryFacts:
    data = winps.many("ComputerSystem", "OperatingSystem")
    cs = winps.one("ComputerSystem", data["ComputerSystem"])
    os_row = winps.one("OperatingSystem", data["OperatingSystem"])
    free_kb, paging_kb = _int(os_row.get("FreePhysicalMemory")), _int(os_row.get("SizeStoredInPagingFiles"))
    total = _int(cs.get("TotalPhysicalMemory"))
    if total is None:
        raise winps.WindowsQueryError("ComputerSystem: TotalPhysicalMemory missing")
    return MemoryFacts(
        total_bytes=total,
        available_bytes=free_kb * 1024 if free_kb is not None else None,
        swap_total_bytes=paging_kb * 1024 if paging_kb is not None else None,
    )


def _reliability_smart(
    counter: dict[str, Any] | None, physical: dict[str, Any], predict: dict[str, Any] | None
) -> SmartFacts | None:
    if counter is None and predict is None and physical.get("HealthStatus") is None:
        return None
    counter = counter or {}
    health = physical.get("HealthStatus")
    health = _HEALTH.get(health, str(health).lower()) if health is not None else None
    predict_failure = bool(predict.get("PredictFailure")) if predict else None
    passed = None
    if predict_failure is not None or health in ("healthy", "warning", "unhealthy"):
        passed = not predict_failure and health != "unhealthy"
    return SmartFacts(
        available=True,
        passed=passed,
        percentage_used=_int(counter.get("Wear")),
        power_on_hours=_int(counter.get("PowerOnHours")),
        temperature_c=_int(counter.get("Temperature")) or None,  # 0 means "not reported"
        read_errors_uncorrected=_int(counter.get("ReadErrorsUncorrected")),
        write_errors_uncorrected=_int(counter.get("WriteErrorsUncorrected")),
        predict_failure=predict_failure,
        health_status=health,
        source="windows-reliability",
    )


def disks() -> list[DiskFacts]:
    drives = winps.rows("DiskDrive")
    physical = {str(p.get("DeviceId")): p for p in winps.rows("PhysicalDisk", required=False)}
    counters = {str(c.get("DeviceId")): c for c in winps.rows("ReliabilityCounter", required=False)}
    predictions = winps.rows("FailurePredictStatus", required=False)
    system_rows = winps.rows("SystemDisk", required=False)
    system_index = _int(system_rows[0].get("DiskNumber")) if system_rows else None
    with_smartctl = smart.smartctl_available()
    out: list[DiskFacts] = []
    for drive in sorted(drives, key=lambda d: _int(d.get("Index")) or 0):
        index = _int(drive.get("Index"))
        pd = physical.get(str(index), {})
        pnp = str(drive.get("PNPDeviceID") or "").upper()
        # MSStorageDriver_FailurePredictStatus.InstanceName is the PNP device id plus "_0".
        predict = next(
            (p for p in predictions if str(p.get("InstanceName", "")).upper().rsplit("_", 1)[0] == pnp), None
        )
        media = _int(pd.get("MediaType"))
        bus = _BUS.get(_int(pd.get("BusType")) or -1)
        if bus is None:
            bus = {"IDE": "sata", "USB": "usb", "SCSI": "scsi"}.get(str(drive.get("InterfaceType")))
        health = _reliability_smart(counters.get(str(index)), pd, predict)
        if with_smartctl and index is not None:
            sc = smart.read_smart(f"/dev/pd{index}")
            if sc.available:
                if health:  # keep what only Windows knows
                    sc.predict_failure, sc.health_status = health.predict_failure, health.health_status
                health = sc
        out.append(
            DiskFacts(
                name=f"PhysicalDrive{index}",
                model=clean_text(drive.get("Model") or pd.get("FriendlyName")),
                serial=clean_serial(drive.get("SerialNumber") or pd.get("SerialNumber")),
                size_bytes=_int(drive.get("Size")) or _int(pd.get("Size")),
                rotational={3: True, 4: False}.get(media or -1),
                bus=bus,
                removable=str(drive.get("MediaType") or "").startswith(("Removable", "External"))
                or bus == "usb",
                system_disk=(index == system_index) if system_index is not None else None,
                smart=health,
            )
        )
    return out


def filesystems() -> list[FilesystemFacts]:
    volumes = winps.rows("LogicalDisk")
    protection = {
        str(v.get("DriveLetter", "")).upper(): _int(v.get("ProtectionStatus"))
        for v in winps.rows("EncryptableVolume", required=False)
    }
    out: list[FilesystemFacts] = []
    for vol in volumes:
        letter = str(vol.get("DeviceID") or "").upper()
        total, free = _int(vol.get("Size")), _int(vol.get("FreeSpace"))
        if not letter or total is None or free is None:
            continue
        status = protection.get(letter)
        out.append(
            FilesystemFacts(
                mountpoint=letter + "\\",
                device=letter,
                fstype=vol.get("FileSystem"),
                total_bytes=total,
                used_bytes=total - free,
                free_bytes=free,
                encrypted=None if status is None else status == 1,  # BitLocker protection on
            )
        )
    return out


def batteries() -> list[BatteryFacts]:
    general = winps.rows("Battery")
    static = winps.rows("BatteryStaticData", required=False)
    full = {r.get("InstanceName"): r for r in winps.rows("BatteryFullChargedCapacity", required=False)}
    cycles = {r.get("InstanceName"): r for r in winps.rows("BatteryCycleCount", required=False)}
    out: list[BatteryFacts] = []
    # root\wmi has one row per battery with capacities in mWh; Win32_Battery lists the same batteries
    # in the same order with the charge state. Without root\wmi, Win32_Battery alone is used.
    count = max(len(static), len(general))
    for i in range(count):
        g = general[i] if i < len(general) else {}
        s = static[i] if i < len(static) else {}
        inst = s.get("InstanceName")
        design = _int(s.get("DesignedCapacity")) or _int(g.get("DesignCapacity"))
        charged = _int((full.get(inst) or {}).get("FullChargedCapacity")) or _int(g.get("FullChargeCapacity"))
        percent = _int(g.get("EstimatedChargeRemaining"))
        out.append(
            BatteryFacts(
                name=clean_text(s.get("DeviceName")) or clean_text(g.get("Name")) or f"Battery{i}",
                manufacturer=clean_text(s.get("ManufactureName")),
                model=clean_text(s.get("DeviceName") or g.get("Name")),
                technology=_CHEMISTRY.get(_int(g.get("Chemistry")) or -1),
                design_capacity_wh=round(design / 1000, 2) if design else None,
                full_charge_capacity_wh=round(charged / 1000, 2) if charged else None,
                cycle_count=_int((cycles.get(inst) or {}).get("CycleCount")) or None,
                status=_BATTERY_STATUS.get(_int(g.get("BatteryStatus")) or -1),
                percent=float(percent) if percent is not None else None,
            )
        )
    return out


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _cidr(address: str, subnet: str | None) -> str:
    try:
        return str(ipaddress.ip_interface(f"{address}/{subnet}")) if subnet else address
    except ValueError:
        return address


def _adapter_kind(adapter: dict[str, Any]) -> tuple[bool, str, bool]:
    """(physical, kind, usb) of one Win32_NetworkAdapter row."""
    pnp = str(adapter.get("PNPDeviceID") or "").upper()
    # Virtual adapters (Hyper-V vEthernet, VPN, VirtualBox host-only) are software-enumerated: ROOT\...
    physical = bool(adapter.get("PhysicalAdapter")) and not pnp.startswith(("ROOT\\", "SWD\\"))
    wireless = _int(adapter.get("AdapterTypeId")) == 9 or bool(
        _WIRELESS.search(f"{adapter.get('Name', '')} {adapter.get('NetConnectionID', '')}")
    )
    if not physical:
        kind = "virtual"
    elif pnp.startswith("BTH"):  # Bluetooth PAN: a radio, but never the machine's network identity
        kind = "bluetooth"
    else:
        kind = "wifi" if wireless else "ethernet"
    return physical, kind, pnp.startswith("USB\\")


def network_interfaces() -> list[NetworkInterfaceFacts]:
    adapters = winps.rows("NetworkAdapter")
    configs = {
        _int(c.get("InterfaceIndex")): c for c in winps.rows("NetworkAdapterConfiguration", required=False)
    }
    out: list[NetworkInterfaceFacts] = []
    for adapter in adapters:
        physical, kind, _usb = _adapter_kind(adapter)
        config = configs.get(_int(adapter.get("InterfaceIndex")), {})
        ipv4: list[str] = []
        ipv6: list[str] = []
        for addr, subnet in zip(
            _as_list(config.get("IPAddress")), _as_list(config.get("IPSubnet")), strict=False
        ):
            (ipv6 if ":" in str(addr) else ipv4).append(_cidr(str(addr), str(subnet)))
        speed = _int(adapter.get("Speed"))
        up = _int(adapter.get("NetConnectionStatus")) == 2  # 2 = Connected
        mac = adapter.get("MACAddress")
        out.append(
            NetworkInterfaceFacts(
                name=adapter.get("NetConnectionID") or adapter.get("Name") or "?",
                mac=str(mac).lower().replace("-", ":") if mac else None,
                ipv4=ipv4,
                ipv6=ipv6,
                speed_mbps=speed // 1_000_000 if speed and speed != _UNSET_SPEED and up else None,
                up=up,
                physical=physical,
                kind=kind,
            )
        )
    return out


def _install_date(value: Any) -> date | None:
    text = str(value or "").strip()
    if re.fullmatch(r"\d{8}", text):
        try:
            return datetime.strptime(text, "%Y%m%d").date()
        except ValueError:
            return None
    return None


def software() -> list[SoftwareFacts]:
    seen: set[tuple[str, str | None]] = set()
    out: list[SoftwareFacts] = []
    for row in winps.rows("Software"):
        name = clean_text(row.get("DisplayName"))
        version = clean_text(row.get("DisplayVersion"))
        if not name or (name, version) in seen:  # 32- and 64-bit views may list a product twice
            continue
        seen.add((name, version))
        out.append(
            SoftwareFacts(
                name=name,
                version=version,
                vendor=clean_text(row.get("Publisher")),
                install_date=_install_date(row.get("InstallDate")),
                source="registry",
            )
        )
    return sorted(out, key=lambda s: s.name.lower())


def users() -> list[UserFacts]:
    accounts = winps.rows("UserAccount")
    admins = {str(m.get("SID")) for m in winps.rows("Administrators")}
    return [
        UserFacts(
            name=a.get("Name") or "?",
            uid=a.get("SID"),
            admin=str(a.get("SID")) in admins or str(a.get("SID", "")).endswith("-500"),
            disabled=bool(a.get("Disabled")),
            password_locked=bool(a.get("Lockout")) if a.get("Lockout") is not None else None,
        )
        for a in accounts
    ]


def health() -> HealthFacts:
    events = winps.rows("UnexpectedShutdowns")
    boots = winps.rows("Boots", required=False)
    start = winps.rows("SystemLogStart", required=False)
    times = sorted(t for e in events if (t := _dt(e.get("TimeCreated"))))
    incidents: list[datetime] = []
    for t in times:
        if not incidents or t - incidents[-1] > _INCIDENT_GAP:
            incidents.append(t)
    recent = sorted(incidents, reverse=True)
    return HealthFacts(
        unexpected_shutdowns=len(incidents),
        boots_recorded=len(boots) if boots else None,
        evidence_since=_dt(start[0].get("TimeCreated")) if start else None,
        last_unexpected_shutdown=recent[0] if recent else None,
        unexpected_shutdown_times=recent[:20],
        source="windows-eventlog",
    )


def identity() -> HostIdentity:
    names = ("MachineGuid", "BIOS", "NetworkAdapter")
    data = winps.many(*names, optional=names)  # identity takes whatever part it can get
    guid = data["MachineGuid"][0].get("MachineGuid") if data["MachineGuid"] else None
    serial = clean_serial(data["BIOS"][0].get("SerialNumber")) if data["BIOS"] else None
    candidates: list[tuple[tuple[bool, bool, str], str]] = []
    for adapter in data["NetworkAdapter"]:
        physical, kind, usb = _adapter_kind(adapter)
        mac = adapter.get("MACAddress")
        if physical and mac and kind in ("ethernet", "wifi"):
            key = (usb, kind != "ethernet", str(adapter.get("NetConnectionID") or adapter.get("Name")))
            candidates.append((key, str(mac).lower().replace("-", ":")))
    return HostIdentity(machine_id=guid, serial=serial, mac=min(candidates)[1] if candidates else None)
