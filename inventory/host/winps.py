"""CIM/WMI and registry queries on Windows, through one PowerShell process per collection.

Starting PowerShell costs a few hundred milliseconds, so every query a collection needs runs in one
script; each query has its own try/catch, so one failing class (an absent namespace, access denied)
fails only the facts built from it. The script prints one JSON object: query name -> list of rows,
or ``{"__error": message}``.

:func:`run_powershell` is the only place that starts a process: tests put a recorded-output
``powershell`` on PATH and the parsing runs on Linux.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from inventory.host.commands import CommandError, run

log = logging.getLogger(__name__)

_STORAGE = "-Namespace root/Microsoft/Windows/Storage"
_UNINSTALL = (
    "'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\*',"
    "'HKLM:\\SOFTWARE\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\*'"
)
_UTC = "@{n='TimeCreated';e={$_.TimeCreated.ToUniversalTime().ToString('o')}}"

# Query name -> PowerShell pipeline. Select-Object keeps ConvertTo-Json from dumping CIM metadata.
QUERIES: dict[str, str] = {
    "ComputerSystem": "Get-CimInstance Win32_ComputerSystem | Select-Object Name,Manufacturer,Model,"
    "SystemFamily,TotalPhysicalMemory,HypervisorPresent,PCSystemType",
    "BIOS": "Get-CimInstance Win32_BIOS | Select-Object Manufacturer,SMBIOSBIOSVersion,SerialNumber,"
    "ReleaseDate",
    "SystemEnclosure": "Get-CimInstance Win32_SystemEnclosure | Select-Object ChassisTypes,SerialNumber",
    "OperatingSystem": "Get-CimInstance Win32_OperatingSystem | Select-Object Caption,Version,BuildNumber,"
    "OSArchitecture,InstallDate,LastBootUpTime,FreePhysicalMemory,SizeStoredInPagingFiles",
    "CurrentVersion": "Get-ItemProperty 'HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion' | "
    "Select-Object ProductName,EditionID,DisplayVersion,ReleaseId,CurrentBuild,UBR",
    "Processor": "Get-CimInstance Win32_Processor | Select-Object Name,Manufacturer,NumberOfCores,"
    "NumberOfLogicalProcessors,MaxClockSpeed",
    "DiskDrive": "Get-CimInstance Win32_DiskDrive | Select-Object Index,Model,SerialNumber,Size,"
    "InterfaceType,MediaType,PNPDeviceID,Status",
    "PhysicalDisk": f"Get-CimInstance {_STORAGE} -ClassName MSFT_PhysicalDisk | Select-Object DeviceId,"
    "FriendlyName,SerialNumber,MediaType,BusType,HealthStatus,Size,SpindleSpeed",
    "ReliabilityCounter": "Get-PhysicalDisk | Get-StorageReliabilityCounter | Select-Object DeviceId,"
    "Temperature,Wear,PowerOnHours,ReadErrorsUncorrected,WriteErrorsUncorrected",
    "FailurePredictStatus": "Get-CimInstance -Namespace root/wmi -ClassName "
    "MSStorageDriver_FailurePredictStatus | Select-Object InstanceName,PredictFailure,Reason",
    "SystemDisk": "Get-Partition -DriveLetter $env:SystemDrive.Substring(0,1) | Select-Object DiskNumber",
    "LogicalDisk": "Get-CimInstance Win32_LogicalDisk -Filter 'DriveType=3' | Select-Object DeviceID,"
    "FileSystem,Size,FreeSpace,VolumeName",
    "EncryptableVolume": "Get-CimInstance -Namespace root/cimv2/security/microsoftvolumeencryption "
    "-ClassName Win32_EncryptableVolume | Select-Object DriveLetter,ProtectionStatus",
    "Battery": "Get-CimInstance Win32_Battery | Select-Object DeviceID,Name,Chemistry,BatteryStatus,"
    "EstimatedChargeRemaining,DesignCapacity,FullChargeCapacity",
    "BatteryStaticData": "Get-CimInstance -Namespace root/wmi -ClassName BatteryStaticData | Select-Object "
    "InstanceName,DesignedCapacity,ManufactureName,DeviceName,SerialNumber",
    "BatteryFullChargedCapacity": "Get-CimInstance -Namespace root/wmi -ClassName BatteryFullChargedCapacity"
    " | Select-Object InstanceName,FullChargedCapacity",
    "BatteryCycleCount": "Get-CimInstance -Namespace root/wmi -ClassName BatteryCycleCount | Select-Object "
    "InstanceName,CycleCount",
    "NetworkAdapter": "Get-CimInstance Win32_NetworkAdapter -Filter 'NetConnectionID IS NOT NULL' | "
    "Select-Object InterfaceIndex,Name,NetConnectionID,MACAddress,Speed,NetEnabled,PhysicalAdapter,"
    "AdapterTypeId,NetConnectionStatus,PNPDeviceID",
    "NetworkAdapterConfiguration": "Get-CimInstance Win32_NetworkAdapterConfiguration -Filter "
    "'IPEnabled=True' | Select-Object InterfaceIndex,IPAddress,IPSubnet",
    "UserAccount": "Get-CimInstance Win32_UserAccount -Filter 'LocalAccount=True' | Select-Object "
    "Name,SID,Disabled,Lockout",
    # Members of the local Administrators group, found by its well-known SID (the name is localised).
    "Administrators": "Get-CimInstance Win32_Group -Filter \"SID='S-1-5-32-544'\" | "
    "Get-CimAssociatedInstance -Association Win32_GroupUser | Select-Object Name,Domain,SID",
    "Software": f"Get-ItemProperty {_UNINSTALL} -ErrorAction SilentlyContinue | Where-Object "
    "{ $_.DisplayName -and -not $_.SystemComponent -and -not $_.ParentKeyName } | "
    "Select-Object DisplayName,DisplayVersion,Publisher,InstallDate",
    "MachineGuid": "Get-ItemProperty 'HKLM:\\SOFTWARE\\Microsoft\\Cryptography' -Name MachineGuid | "
    "Select-Object MachineGuid",
    # Kernel-Power 41 and EventLog 6008: the two records Windows writes after an unclean shutdown.
    "UnexpectedShutdowns": "Get-WinEvent -FilterHashtable @{LogName='System'; Id=41,6008; "
    "ProviderName='Microsoft-Windows-Kernel-Power','EventLog'} -MaxEvents 500 -ErrorAction "
    f"SilentlyContinue | Select-Object Id,{_UTC}",
    # EventLog 6005 ("the Event log service was started") marks each boot.
    "Boots": "Get-WinEvent -FilterHashtable @{LogName='System'; Id=6005; ProviderName='EventLog'} "
    f"-MaxEvents 2000 -ErrorAction SilentlyContinue | Select-Object {_UTC}",
    "SystemLogStart": f"Get-WinEvent -LogName System -MaxEvents 1 -Oldest | Select-Object {_UTC}",
}

ALL_QUERIES: tuple[str, ...] = tuple(QUERIES)


class WindowsQueryError(RuntimeError):
    """A CIM/WMI or registry query failed (or PowerShell itself could not run)."""


def build_script(names: Iterable[str]) -> str:
    lines = [
        "$ErrorActionPreference = 'Stop'",
        "$ProgressPreference = 'SilentlyContinue'",
        # UTF-8 without BOM: software and user names are often Vietnamese.
        "[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false",
        "$r = [ordered]@{}",
    ]
    for name in names:
        lines.append(
            f"try {{ $r['{name}'] = @({QUERIES[name]}) }} "
            f"catch {{ $r['{name}'] = @{{ '__error' = $_.Exception.Message }} }}"
        )
    lines.append("$r | ConvertTo-Json -Depth 4 -Compress")
    return "\n".join(lines)


def run_powershell(script: str, *, timeout: float = 120.0) -> str:
    """Run ``script`` in Windows PowerShell and return its standard output.

    -EncodedCommand (base64 of UTF-16LE) avoids every quoting problem of a command line.
    """
    encoded = base64.b64encode(script.encode("utf-16-le")).decode("ascii")
    argv = [
        "powershell",
        "-NoProfile",
        "-NonInteractive",
        "-ExecutionPolicy",
        "Bypass",
        "-EncodedCommand",
        encoded,
    ]
    return run(argv, timeout=timeout).stdout


def fetch(names: Iterable[str]) -> dict[str, Any]:
    """Run the named queries in one PowerShell process. A failure of the whole run is recorded
    against each name, so every fact that needed it reports the same reason."""
    names = [n for n in dict.fromkeys(names)]
    unknown = [n for n in names if n not in QUERIES]
    if unknown:
        raise ValueError(f"unknown Windows query: {', '.join(unknown)}")
    try:
        text = run_powershell(build_script(names)).lstrip("\ufeff").strip()
        data = json.loads(text) if text else {}
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
    except CommandError as exc:
        return {n: {"__error": str(exc)} for n in names}
    except ValueError as exc:
        return {n: {"__error": f"PowerShell output is not the expected JSON: {exc}"} for n in names}
    return {n: data.get(n, {"__error": "query missing from PowerShell output"}) for n in names}


_cache: dict[str, Any] | None = None


@contextmanager
def snapshot() -> Iterator[None]:
    """Prefetch every query once for one collection pass; forget it afterwards (facts change)."""
    global _cache
    previous = _cache
    _cache = fetch(ALL_QUERIES)
    try:
        yield
    finally:
        _cache = previous


def rows(name: str, *, required: bool = True) -> list[dict[str, Any]]:
    """The rows of query ``name`` (fetched now unless a snapshot holds them).

    A failed query raises :class:`WindowsQueryError` when ``required``, else gives no rows: some
    sources only add detail (failure prediction needs admin rights; a desktop has no battery class).
    """
    data = _cache[name] if _cache is not None and name in _cache else fetch([name])[name]
    return _rows(name, data, required)


def many(*names: str, optional: Collection[str] = ()) -> dict[str, list[dict[str, Any]]]:
    """Several queries, fetched together in one process when no snapshot holds them.

    A failed query raises unless it is named in ``optional`` (then it gives no rows).
    """
    held = _cache or {}
    missing = [n for n in names if n not in held]
    fetched = fetch(missing) if missing else {}
    out: dict[str, list[dict[str, Any]]] = {}
    for name in names:
        data = fetched[name] if name in fetched else held[name]
        out[name] = _rows(name, data, name not in optional)
    return out


def one(name: str, found: list[dict[str, Any]]) -> dict[str, Any]:
    """The single instance of a class every machine has (Win32_ComputerSystem, Win32_OperatingSystem)."""
    if not found:
        raise WindowsQueryError(f"{name}: no instance returned")
    return found[0]


def _rows(name: str, data: Any, required: bool) -> list[dict[str, Any]]:
    if isinstance(data, dict) and "__error" in data:
        if required:
            raise WindowsQueryError(f"{name}: {data['__error']}")
        log.debug("optional Windows query %s failed: %s", name, data["__error"])
        return []
    if data is None:
        return []
    items = data if isinstance(data, list) else [data]
    return [i for i in items if isinstance(i, dict)]
