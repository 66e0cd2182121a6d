"""Readers for the Linux /sys (and /run/udev, /proc) trees.

Every reader takes ``root`` ("/" on a live system) so tests replay recorded trees of hardware this
machine lacks (laptop batteries, NVMe and SATA disks, DMI tables). Readers never raise for a missing
or unreadable file: sysfs attributes come and go with kernel versions and drivers.
"""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path

from inventory.facts import BatteryFacts, DiskFacts

# SMBIOS 3.x chassis types (DMTF DSP0134, 7.4.1) -> our coarse classes.
_DESKTOP = {3, 4, 5, 6, 7, 13, 15, 16, 24, 34, 35, 36}
_LAPTOP = {8, 9, 10, 11, 14, 30, 31, 32}
_SERVER = {17, 18, 19, 20, 21, 22, 23, 25, 28, 29}
# Vendor/product strings that only a hypervisor reports.
_VM_MARKERS = (
    "qemu", "kvm", "vmware", "virtualbox", "innotek", "xen", "bochs", "parallels",
    "virtual machine", "amazon ec2", "google compute engine", "openstack", "cloud hypervisor",
)  # fmt: skip
# Placeholders firmware writes where a serial should be.
_JUNK_SERIALS = {
    "", "none", "n/a", "na", "default string", "to be filled by o.e.m.", "system serial number",
    "not specified", "not applicable", "0", "00000000", "0123456789", "1234567890", "123456789",
    "serial", "chassis serial number", "invalid", "unknown", "oem", "o.e.m.",
}  # fmt: skip
# Block devices that are never physical disks.
_SKIP_BLOCK = ("loop", "ram", "zram", "dm-", "md", "sr", "fd", "nbd", "nullb", "drbd", "rbd")


def read(path: str | Path) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read().strip()
    except OSError:
        return None


def read_int(path: str | Path) -> int | None:
    text = read(path)
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return None


def clean_serial(value: str | None) -> str | None:
    """A serial number, or None when firmware left a placeholder."""
    if value is None:
        return None
    value = value.strip().strip("\x00").strip()
    if value.lower() in _JUNK_SERIALS or set(value) <= {"0", " ", "-"} or set(value) <= {"F", "f"}:
        return None
    return value


def clean_text(value: str | None) -> str | None:
    if value is None:
        return None
    value = " ".join(value.replace("\x00", " ").split())
    return None if value.lower() in _JUNK_SERIALS else value


def chassis_class(chassis_type: int | None, vendor: str | None, product: str | None) -> str | None:
    if is_virtual(vendor, product):
        return "vm"
    if chassis_type is None:
        return None
    if chassis_type in _DESKTOP:
        return "desktop"
    if chassis_type in _LAPTOP:
        return "laptop"
    if chassis_type in _SERVER:
        return "server"
    return "other"


def is_virtual(*names: str | None) -> bool:
    text = " ".join(n for n in names if n).lower()
    return any(marker in text for marker in _VM_MARKERS)


def parse_dmi_date(value: str | None) -> date | None:
    """DMI dates are MM/DD/YYYY (sometimes with a two-digit year)."""
    if not value:
        return None
    for fmt in ("%m/%d/%Y", "%m/%d/%y", "%Y-%m-%d"):
        try:
            return datetime.strptime(value.strip(), fmt).date()
        except ValueError:
            continue
    return None


def dmi(root: str | Path = "/") -> dict[str, str | None]:
    """The DMI/SMBIOS strings the kernel exposes (product_serial needs root to read)."""
    base = Path(root, "sys/class/dmi/id")
    names = (
        "sys_vendor", "product_name", "product_version", "product_serial", "product_uuid",
        "board_vendor", "board_name", "board_serial", "chassis_type", "chassis_vendor",
        "chassis_serial", "bios_vendor", "bios_version", "bios_date",
    )  # fmt: skip
    return {n: read(base / n) for n in names}


def udev_properties(root: str | Path, majmin: str) -> dict[str, str]:
    """Properties udev recorded for block device ``majmin`` ("8:0")."""
    text = read(Path(root, "run/udev/data", f"b{majmin}"))
    props: dict[str, str] = {}
    for line in (text or "").splitlines():
        if line.startswith("E:") and "=" in line:
            key, _, value = line[2:].partition("=")
            props[key] = value
    return props


def _vpd_serial(path: Path) -> str | None:
    """Unit serial number from SCSI VPD page 0x80 (header: 4 bytes, then ASCII)."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if len(data) < 5 or data[1] != 0x80:
        return None
    length = int.from_bytes(data[2:4], "big")
    return data[4 : 4 + length].decode("ascii", "replace").strip() or None


def _bus(name: str, real: str, udev: dict[str, str], vendor: str | None) -> str:
    if name.startswith("nvme"):
        return "nvme"
    if name.startswith("mmcblk"):
        return "mmc"
    if "/usb" in real or udev.get("ID_BUS") == "usb":
        return "usb"
    if name.startswith("vd") or "/virtio" in real:
        return "virtio"
    if udev.get("ID_BUS") == "ata" or "/ata" in real or (vendor or "").strip() == "ATA":
        return "sata"
    return "scsi"


def block_disks(root: str | Path = "/") -> list[DiskFacts]:
    """Physical disks under /sys/block: no loop, RAM, device-mapper, RAID, optical or empty readers."""
    sysblock = Path(root, "sys/block")
    try:
        names = sorted(os.listdir(sysblock))
    except OSError:
        return []
    disks: list[DiskFacts] = []
    for name in names:
        if name.startswith(_SKIP_BLOCK):
            continue
        base = sysblock / name
        real = os.path.realpath(base)
        if "/devices/virtual/" in real:
            continue
        sectors = read_int(base / "size")
        if not sectors:  # an empty card reader slot or a disconnected device
            continue
        majmin = read(base / "dev") or ""
        udev = udev_properties(root, majmin) if majmin else {}
        vendor = read(base / "device/vendor")
        # sysfs cuts SCSI/SATA models at 16 characters; udev's ID_MODEL holds the whole name.
        sys_model = clean_text(read(base / "device/model") or read(base / "device/name"))  # mmc: name
        udev_model = clean_text(udev.get("ID_MODEL", "").replace("_", " ") or None)
        model = sys_model
        if udev_model and (not sys_model or udev_model.startswith(sys_model)):
            model = udev_model
        if model and vendor and vendor.strip() not in ("ATA", "") and not model.startswith(vendor.strip()):
            model = f"{vendor.strip()} {model}"
        serial = (
            clean_serial(read(base / "device/serial"))  # NVMe controller, MMC
            or clean_serial(read(base / "serial"))  # virtio
            or clean_serial(udev.get("ID_SERIAL_SHORT"))
            or clean_serial(_vpd_serial(base / "device/vpd_pg80"))
        )
        rotational = read_int(base / "queue/rotational")
        removable = read_int(base / "removable")
        disks.append(
            DiskFacts(
                name=name,
                model=model,
                serial=serial,
                size_bytes=sectors * 512,  # sysfs counts 512-byte sectors whatever the block size
                rotational=None if rotational is None else bool(rotational),
                bus=_bus(name, real, udev, vendor),
                removable=None if removable is None else bool(removable),
            )
        )
    return disks


def block_path(root: str | Path, majmin: str) -> Path | None:
    path = Path(root, "sys/dev/block", majmin)
    return Path(os.path.realpath(path)) if path.exists() else None


def _holders_disks(path: Path, depth: int = 0) -> set[str]:
    if depth > 8:
        return set()
    if (path / "partition").exists():
        return {path.parent.name}
    slaves = path / "slaves"
    try:
        below = sorted(os.listdir(slaves))
    except OSError:
        below = []
    if not below:
        return {path.name}
    found: set[str] = set()
    for slave in below:
        found |= _holders_disks(Path(os.path.realpath(slaves / slave)), depth + 1)
    return found


def disks_under(root: str | Path, majmin: str) -> set[str]:
    """Names of the whole disks that block device ``majmin`` lives on (through partitions, LVM, LUKS)."""
    path = block_path(root, majmin)
    return _holders_disks(path) if path else set()


def _encrypted(path: Path, depth: int = 0) -> bool:
    if depth > 8:
        return False
    if (read(path / "dm/uuid") or "").startswith("CRYPT-"):
        return True
    try:
        below = os.listdir(path / "slaves")
    except OSError:
        return False
    return any(_encrypted(Path(os.path.realpath(path / "slaves" / s)), depth + 1) for s in below)


def is_encrypted(root: str | Path, majmin: str) -> bool | None:
    """True when a dm-crypt (LUKS) mapping sits anywhere beneath block device ``majmin``."""
    path = block_path(root, majmin)
    return _encrypted(path) if path else None


def _wh(micro: int | None, micro_volts: int | None = None) -> float | None:
    if micro is None:
        return None
    if micro_volts is None:
        return round(micro / 1e6, 2)  # µWh -> Wh
    return round(micro * micro_volts / 1e12, 2)  # µAh x µV -> Wh


def batteries(root: str | Path = "/") -> list[BatteryFacts]:
    """System batteries from /sys/class/power_supply (energy_* in µWh, or charge_* in µAh)."""
    base = Path(root, "sys/class/power_supply")
    try:
        names = sorted(os.listdir(base))
    except OSError:
        return []
    out: list[BatteryFacts] = []
    for name in names:
        d = base / name
        if read(d / "type") != "Battery":
            continue
        if read(d / "scope") == "Device":  # a wireless mouse's or keyboard's battery
            continue
        if read_int(d / "present") == 0:  # empty battery bay
            continue
        if read_int(d / "energy_full_design") is not None or read_int(d / "energy_full") is not None:
            design = _wh(read_int(d / "energy_full_design"))
            full = _wh(read_int(d / "energy_full"))
        else:
            # Charge in µAh: convert with the design (nominal) voltage so the full/design ratio
            # stays the charge ratio; fall back to the present voltage when that is all there is.
            volts = read_int(d / "voltage_min_design") or read_int(d / "voltage_now")
            design = _wh(read_int(d / "charge_full_design"), volts) if volts else None
            full = _wh(read_int(d / "charge_full"), volts) if volts else None
        percent = read_int(d / "capacity")
        out.append(
            BatteryFacts(
                name=name,
                manufacturer=clean_text(read(d / "manufacturer")),
                model=clean_text(read(d / "model_name")),
                technology=clean_text(read(d / "technology")),
                design_capacity_wh=design or None,
                full_charge_capacity_wh=full,
                cycle_count=read_int(d / "cycle_count") or None,  # 0 means "not reported" on many
                status=read(d / "status"),
                percent=float(percent) if percent is not None else None,
            )
        )
    return out


def net_interface(root: str | Path, name: str) -> dict[str, object]:
    """What sysfs says about one network interface: physical or virtual, kind, speed, bus."""
    d = Path(root, "sys/class/net", name)
    real = os.path.realpath(d)
    has_device = (d / "device").exists()
    physical = has_device and "/devices/virtual/" not in real
    wireless = (d / "wireless").exists() or (d / "phy80211").exists()
    if_type = read_int(d / "type")
    if if_type == 772:
        kind = "loopback"
    elif wireless and physical:
        kind = "wifi"
    elif physical and if_type == 1:
        kind = "ethernet"
    else:
        kind = "virtual"
    speed = read_int(d / "speed")  # EINVAL (None) while the link is down; -1 when unknown
    device_path = os.path.realpath(d / "device") if has_device else ""
    return {
        "physical": physical,
        "kind": kind,
        "speed_mbps": speed if speed and speed > 0 else None,
        "usb": "/usb" in device_path,
        "addr_assign_type": read_int(d / "addr_assign_type"),
        "mac": (read(d / "address") or "").lower() or None,
        "operstate": read(d / "operstate"),
    }


def first_physical_mac(root: str | Path = "/") -> str | None:
    """The MAC of the first physical network interface (ethernet before wifi, built-in before USB).

    Bridges, veth pairs, tunnels and other virtual interfaces are ignored: their addresses change
    with configuration, so they cannot identify the machine. Addresses the hardware burned in
    (addr_assign_type 0) win over ones set or randomised by software.
    """
    base = Path(root, "sys/class/net")
    try:
        names = sorted(os.listdir(base))
    except OSError:
        return None
    candidates: list[tuple[tuple[bool, bool, bool, str], str]] = []
    for name in names:
        info = net_interface(root, name)
        mac = info["mac"]
        if not info["physical"] or info["kind"] not in ("ethernet", "wifi"):
            continue
        if not isinstance(mac, str) or mac in ("", "00:00:00:00:00:00"):
            continue
        key = (info["addr_assign_type"] not in (None, 0), bool(info["usb"]), info["kind"] != "ethernet", name)
        candidates.append((key, mac))
    return min(candidates)[1] if candidates else None
