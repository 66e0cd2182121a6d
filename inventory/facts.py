"""Typed fact sections carried in a report.

Every section is optional: an agent that cannot read a fact leaves it ``None``
rather than guessing, and the checks treat a missing fact as not applicable.
Additive fields keep the schema version (see ``inventory.report``).
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from inventory.base import FactModel
from inventory.certificates.facts import CertificateFacts
from inventory.health import HealthFacts
from inventory.lan import LanScanFacts
from inventory.netdevices.facts import NetworkDeviceFacts
from inventory.security import SecurityFacts


class SystemFacts(FactModel):
    hostname: str
    vendor: str | None = None
    model: str | None = None
    serial: str | None = None
    chassis: str | None = None  # desktop, laptop, server, vm, other
    bios_vendor: str | None = None
    bios_version: str | None = None
    bios_date: date | None = None
    machine_id: str | None = None
    virtual: bool | None = None
    # Not filled any more: it changed every collection and so defeated deltas; os.boot_time says it.
    uptime_seconds: int | None = None


class OsFacts(FactModel):
    family: str  # linux, windows
    name: str
    version: str | None = None
    build: str | None = None
    edition: str | None = None
    kernel: str | None = None
    architecture: str | None = None
    boot_time: datetime | None = None
    install_date: datetime | None = None
    distro_id: str | None = None  # os-release ID (debian, ubuntu, rhel ...) or "windows"
    display_version: str | None = None  # Windows DisplayVersion (22H2), os-release VERSION


class CpuFacts(FactModel):
    model: str | None = None
    vendor: str | None = None
    physical_cores: int | None = None
    threads: int | None = None
    max_mhz: float | None = None
    launch_year: int | None = None


class MemoryFacts(FactModel):
    total_bytes: int
    available_bytes: int | None = None
    swap_total_bytes: int | None = None


class SmartAttribute(FactModel):
    id: int
    name: str
    raw: int
    value: int | None = None
    worst: int | None = None
    threshold: int | None = None
    when_failed: str | None = None  # smartctl: "now" or "past" when normalized fell to the threshold


class SmartFacts(FactModel):
    """Disk health as smartctl (or Windows storage reliability counters) tell it."""

    available: bool = True
    passed: bool | None = None  # overall-health self-assessment
    attributes: list[SmartAttribute] = Field(default_factory=list)
    nvme_critical_warning: int | None = None
    percentage_used: int | None = None
    media_errors: int | None = None
    power_on_hours: int | None = None
    temperature_c: int | None = None
    source: str | None = None  # smartctl, windows-reliability, ...
    protocol: str | None = None  # ata, nvme, scsi
    exit_status: int | None = None  # smartctl exit bit mask (bit 3: disk failing, ...)
    error: str | None = None  # why SMART could not be read, when available is False
    available_spare: int | None = None  # NVMe, percent
    unsafe_shutdowns: int | None = None  # NVMe
    # SATA SSD remaining rated life, from the normalized value of a wear attribute (177/202/231/233).
    life_left_percent: int | None = None
    # Windows storage reliability counters and failure prediction.
    read_errors_uncorrected: int | None = None
    write_errors_uncorrected: int | None = None
    predict_failure: bool | None = None
    health_status: str | None = None  # Windows MSFT_PhysicalDisk: healthy, warning, unhealthy


class DiskFacts(FactModel):
    name: str
    model: str | None = None
    serial: str | None = None
    size_bytes: int | None = None
    rotational: bool | None = None
    bus: str | None = None  # sata, nvme, usb, virtio, scsi, mmc
    removable: bool | None = None
    system_disk: bool | None = None
    smart: SmartFacts | None = None


class FilesystemFacts(FactModel):
    mountpoint: str
    device: str | None = None
    fstype: str | None = None
    total_bytes: int
    used_bytes: int
    free_bytes: int
    encrypted: bool | None = None


class BatteryFacts(FactModel):
    name: str
    manufacturer: str | None = None
    model: str | None = None
    technology: str | None = None
    design_capacity_wh: float | None = None
    full_charge_capacity_wh: float | None = None
    cycle_count: int | None = None
    status: str | None = None
    percent: float | None = None

    @property
    def health_ratio(self) -> float | None:
        if not self.design_capacity_wh or self.full_charge_capacity_wh is None:
            return None
        return self.full_charge_capacity_wh / self.design_capacity_wh


class NetworkInterfaceFacts(FactModel):
    name: str
    mac: str | None = None
    ipv4: list[str] = Field(default_factory=list)  # CIDR notation, e.g. 192.168.1.10/24
    ipv6: list[str] = Field(default_factory=list)
    speed_mbps: int | None = None
    up: bool | None = None
    physical: bool | None = None
    kind: str | None = None  # ethernet, wifi, loopback, virtual, bluetooth


class SoftwareFacts(FactModel):
    name: str
    version: str | None = None
    vendor: str | None = None
    install_date: date | None = None
    source: str | None = None  # dpkg, rpm, registry


class UserFacts(FactModel):
    name: str
    uid: str | None = None
    admin: bool = False
    disabled: bool | None = None
    last_logon: datetime | None = None
    password_locked: bool | None = None


class Facts(FactModel):
    """All fact sections of one report. Section names are the keys of ``Report.partial``."""

    system: SystemFacts | None = None
    os: OsFacts | None = None
    cpu: CpuFacts | None = None
    memory: MemoryFacts | None = None
    disks: list[DiskFacts] | None = None
    filesystems: list[FilesystemFacts] | None = None
    batteries: list[BatteryFacts] | None = None
    network_interfaces: list[NetworkInterfaceFacts] | None = None
    software: list[SoftwareFacts] | None = None
    users: list[UserFacts] | None = None
    # Sections owned by one capability each keep their model in that capability's module.
    security: SecurityFacts | None = None
    health: HealthFacts | None = None
    certificates: CertificateFacts | None = None
    network_scan: LanScanFacts | None = None
    device: NetworkDeviceFacts | None = None


SECTION_NAMES: tuple[str, ...] = tuple(Facts.model_fields)
