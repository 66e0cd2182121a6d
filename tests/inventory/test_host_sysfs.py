"""Recorded /sys trees replayed for hardware this machine lacks: batteries, NVMe/SATA disks, DMI."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from inventory.host import linux, sysfs

SYS_TREES = Path(__file__).parents[1] / "fixtures" / "host" / "sys"


ENERGY = SYS_TREES / "laptop-energy"
CHARGE = SYS_TREES / "laptop-charge"
JUNK = SYS_TREES / "desktop-junk-dmi"


@pytest.fixture
def replay(monkeypatch: pytest.MonkeyPatch):
    def use(tree):
        monkeypatch.setattr(linux, "ROOT", str(tree))

    return use


def test_battery_with_energy_files(replay) -> None:
    replay(ENERGY)
    bats = linux.batteries()
    assert [b.name for b in bats] == ["BAT0"]  # AC adapter and the mouse's battery are not system batteries
    bat = bats[0]
    assert bat.design_capacity_wh == 57.02 and bat.full_charge_capacity_wh == 41.35
    assert bat.health_ratio == pytest.approx(0.725, abs=0.001)
    assert (bat.cycle_count, bat.status, bat.percent, bat.technology) == (412, "Discharging", 72.0, "Li-poly")
    assert (bat.manufacturer, bat.model) == ("SMP", "01AV431")


def test_battery_with_charge_files_uses_design_voltage(replay) -> None:
    replay(CHARGE)
    (bat,) = linux.batteries()
    # 3075000 µAh x 11.55 V and 2506000 µAh x 11.55 V
    assert bat.design_capacity_wh == 35.52 and bat.full_charge_capacity_wh == 28.94
    assert bat.health_ratio == pytest.approx(2506000 / 3075000, abs=0.001)
    assert bat.cycle_count is None  # the firmware reports 0: unknown, not new
    assert bat.status == "Charging"


def test_nvme_disk(replay) -> None:
    (disk,) = sysfs.block_disks(ENERGY)  # loop and device-mapper devices are not disks
    assert disk.name == "nvme0n1"
    assert (disk.model, disk.serial, disk.bus) == ("SAMSUNG MZVLB512HBJQ-000L7", "S4DYNX0N123456", "nvme")
    assert disk.size_bytes == 1000215216 * 512
    assert disk.rotational is False and disk.removable is False


def test_sata_usb_and_sd_disks() -> None:
    disks = {d.name: d for d in sysfs.block_disks(CHARGE)}
    assert set(disks) == {"sda", "sdb", "mmcblk0"}  # the empty card-reader slot is left out
    sda = disks["sda"]
    assert sda.bus == "sata" and sda.rotational is True
    assert sda.model == "WDC WD10SPZX-21Z10T0"  # udev's full name, not sysfs's 16 characters
    assert sda.serial == "WD-WX31A19ABCDE"
    assert sda.size_bytes == 1953525168 * 512
    sdb = disks["sdb"]
    assert (sdb.bus, sdb.removable, sdb.model) == ("usb", True, "SanDisk Cruzer Blade")
    assert (disks["mmcblk0"].bus, disks["mmcblk0"].model) == ("mmc", "SD32G")


def test_system_disk_and_encryption_through_lvm_on_luks() -> None:
    # / on dm-1 (LVM) on dm-0 (LUKS) on nvme0n1p3
    assert sysfs.disks_under(ENERGY, "253:1") == {"nvme0n1"}
    assert sysfs.is_encrypted(ENERGY, "253:1") is True
    assert sysfs.is_encrypted(ENERGY, "259:1") is False  # the EFI partition
    assert sysfs.disks_under(ENERGY, "259:1") == {"nvme0n1"}


def test_dmi_of_a_thinkpad(replay) -> None:
    replay(ENERGY)
    s = linux.system()
    assert (s.vendor, s.model, s.serial, s.chassis) == ("LENOVO", "ThinkPad T480", "PF1ABCDE", "laptop")
    assert s.bios_version == "N24ET70W (1.45 )"
    assert s.bios_date == date(2022, 6, 22)
    assert s.machine_id == "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    assert s.virtual is False


def test_dmi_placeholders_are_not_facts(replay) -> None:
    replay(JUNK)
    s = linux.system()
    assert s.vendor is None and s.model is None and s.serial is None
    assert s.chassis == "desktop" and s.bios_date == date(2019, 10, 13)


def test_identity_picks_the_builtin_physical_mac(replay) -> None:
    # br0 (lowest MAC), veth, docker0 and a USB adapter are all there; the built-in ethernet wins.
    assert sysfs.first_physical_mac(ENERGY) == "8c:16:45:aa:bb:cc"
    replay(ENERGY)
    ident = linux.identity()
    assert (ident.machine_id, ident.serial, ident.mac) == (
        "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        "PF1ABCDE",
        "8c:16:45:aa:bb:cc",
    )


def test_no_physical_interface_means_no_mac(tmp_path) -> None:
    (tmp_path / "sys/devices/virtual/net/br0").mkdir(parents=True)
    (tmp_path / "sys/devices/virtual/net/br0/address").write_text("00:00:5e:00:53:01\n")
    (tmp_path / "sys/devices/virtual/net/br0/type").write_text("1\n")
    (tmp_path / "sys/class/net").mkdir(parents=True)
    (tmp_path / "sys/class/net/br0").symlink_to("../../devices/virtual/net/br0")
    assert sysfs.first_physical_mac(tmp_path) is None


def test_network_interface_kinds() -> None:
    expected = {
        "lo": "loopback",
        "br0": "virtual",
        "veth1a2b3c": "virtual",
        "enp0s31f6": "ethernet",
        "wlp61s0": "wifi",
    }
    assert {n: sysfs.net_interface(ENERGY, n)["kind"] for n in expected} == expected
    assert sysfs.net_interface(ENERGY, "enp0s31f6")["speed_mbps"] == 1000
