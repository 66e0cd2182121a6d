"""The Windows collector's parsing, on recorded PowerShell JSON (tests/fixtures/host/windows/README)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from inventory.host import windows, winps


@pytest.fixture
def laptop(recorded_windows):
    return recorded_windows("laptop")


@pytest.fixture
def desktop(recorded_windows):
    return recorded_windows("desktop")


def test_system(laptop) -> None:
    s = windows.system()
    assert (s.hostname, s.vendor, s.model, s.serial, s.chassis) == (
        "UBND-KT-LAPTOP01",
        "Dell Inc.",
        "Latitude 5490",
        "7XK2QF2",
        "laptop",
    )
    assert (s.bios_version, s.bios_date, s.virtual) == ("1.33.0", date(2023, 3, 9), False)
    assert s.machine_id == "4c4c4544-0058-4b10-8032-b7c04f515132"


def test_os_info(laptop) -> None:
    o = windows.os_info()
    assert (o.family, o.name, o.version, o.build, o.edition, o.display_version) == (
        "windows",
        "Windows 10 Pro",
        "10.0.19045",
        "19045.4291",
        "Professional",
        "22H2",
    )
    assert o.install_date == datetime(2019, 5, 14, 8, 12, 40, tzinfo=UTC)
    assert o.boot_time == datetime(2026, 11, 25, 0, 45, 10, tzinfo=UTC)


def test_cpu_and_memory(laptop) -> None:
    c = windows.cpu()
    assert (c.vendor, c.physical_cores, c.threads, c.max_mhz, c.launch_year) == ("Intel", 4, 8, 1800.0, 2017)
    m = windows.memory()
    assert m.total_bytes == 8463249408
    assert (m.available_bytes, m.swap_total_bytes) == (3120548 * 1024, 1245184 * 1024)


def test_disks_with_reliability_counters(laptop) -> None:
    nvme, usb = windows.disks()
    assert (nvme.name, nvme.bus, nvme.rotational, nvme.system_disk, nvme.removable) == (
        "PhysicalDrive0",
        "nvme",
        False,
        True,
        False,
    )
    assert nvme.smart is not None
    h = nvme.smart
    assert h.source == "windows-reliability"
    assert (h.percentage_used, h.power_on_hours, h.temperature_c) == (7, 11873, 38)
    # Failure prediction is "Not supported" for this NVMe: health comes from MSFT_PhysicalDisk alone.
    assert (h.passed, h.predict_failure, h.health_status) == (True, None, "healthy")
    assert (usb.bus, usb.removable, usb.rotational, usb.system_disk) == ("usb", True, True, False)


def test_failing_hdd_is_predicted(desktop) -> None:
    (hdd,) = windows.disks()
    assert hdd.serial == "Z3TAB1CD"  # Win32_DiskDrive pads it with spaces
    assert (hdd.bus, hdd.rotational) == ("sata", True)
    assert hdd.smart is not None
    assert (hdd.smart.predict_failure, hdd.smart.passed, hdd.smart.health_status) == (True, False, "warning")
    assert hdd.smart.read_errors_uncorrected == 152


def test_filesystems_with_bitlocker(laptop) -> None:
    fs = {f.mountpoint: f for f in windows.filesystems()}
    assert fs["C:\\"].encrypted is True and fs["D:\\"].encrypted is False
    assert fs["C:\\"].used_bytes == 255380959232 - 61872345088
    assert fs["D:\\"].fstype == "exFAT"


def test_battery_from_root_wmi(laptop) -> None:
    (bat,) = windows.batteries()
    assert (bat.design_capacity_wh, bat.full_charge_capacity_wh) == (68.0, 41.23)
    assert bat.health_ratio == pytest.approx(0.606, abs=0.001)
    assert (bat.manufacturer, bat.status, bat.percent, bat.cycle_count) == ("SMP", "Not charging", 97.0, None)


def test_desktop_without_battery(desktop) -> None:
    assert windows.batteries() == []


def test_network_interfaces(laptop) -> None:
    nics = {n.name: n for n in windows.network_interfaces()}
    eth = nics["Ethernet 2"]
    assert (eth.kind, eth.physical, eth.up, eth.speed_mbps, eth.mac) == (
        "ethernet",
        True,
        True,
        1000,
        "54:bf:64:1a:2b:3c",
    )
    assert eth.ipv4 == ["10.20.30.41/24"] and eth.ipv6 == ["fe80::1c2d:3e4f:5a6b:7c8d/64"]
    wifi = nics["Wi-Fi"]
    assert (wifi.kind, wifi.up, wifi.speed_mbps) == ("wifi", False, None)  # disconnected: no bogus speed
    assert (nics["Ethernet"].kind, nics["Ethernet"].physical) == ("virtual", False)  # VirtualBox host-only
    assert nics["vEthernet (Default Switch)"].kind == "virtual"
    assert nics["Bluetooth Network Connection"].kind == "bluetooth"


def test_identity_skips_virtual_and_bluetooth_adapters(laptop) -> None:
    ident = windows.identity()
    assert (ident.machine_id, ident.serial, ident.mac) == (
        "4c4c4544-0058-4b10-8032-b7c04f515132",
        "7XK2QF2",
        "54:bf:64:1a:2b:3c",
    )


def test_software_from_uninstall_keys(laptop) -> None:
    sw = windows.software()
    names = [s.name for s in sw]
    assert len(names) == len(set(names)) == 6  # the 32/64-bit duplicate counts once
    evkey = next(s for s in sw if s.name == "Bộ gõ tiếng Việt EVKey")  # UTF-8 intact
    assert (evkey.version, evkey.install_date, evkey.source) == ("3.3.8", date(2022, 3, 17), "registry")
    assert next(s for s in sw if s.name.startswith("7-Zip")).install_date is None


def test_users_and_local_administrators(laptop) -> None:
    users = {u.name: u for u in windows.users()}
    assert {n for n, u in users.items() if u.admin} == {"Administrator", "canbo"}
    assert users["Administrator"].disabled is True and users["canbo"].disabled is False
    assert users["nguyễn.an"].password_locked is True
    assert users["ketoan"].uid.endswith("-1002")


def test_unexpected_shutdowns_pair_41_with_6008(laptop) -> None:
    h = windows.health()
    # Two incidents logged as 41 + 6008 a few seconds apart, one with 6008 alone.
    assert (h.unexpected_shutdowns, h.boots_recorded, h.source) == (3, 45, "windows-eventlog")
    assert h.last_unexpected_shutdown == datetime(2026, 11, 2, 7, 31, 12, 123456, tzinfo=UTC)
    assert h.evidence_since is not None and h.evidence_since.date() == date(2026, 5, 30)


def test_no_incidents(desktop) -> None:
    h = windows.health()
    assert (h.unexpected_shutdowns, h.boots_recorded, h.last_unexpected_shutdown) == (0, 2, None)


def test_one_powershell_run_per_snapshot(laptop) -> None:
    with windows.snapshot():
        for fn in ("system", "os_info", "cpu", "memory", "disks", "filesystems", "batteries"):
            getattr(windows, fn)()
        for fn in ("network_interfaces", "software", "users", "health", "identity"):
            getattr(windows, fn)()
    runs = laptop.read_text().splitlines()
    assert len(runs) == 1 and set(runs[0].split()) == set(winps.QUERIES)


def test_a_failed_query_fails_only_its_facts(desktop) -> None:
    # The desktop recording has no ComputerSystem: system() fails, disks() still works.
    with windows.snapshot():
        with pytest.raises(winps.WindowsQueryError, match="ComputerSystem"):
            windows.memory()
        assert windows.disks()


def test_without_powershell_every_function_says_why(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(winps.WindowsQueryError, match="powershell: command not found"):
        windows.cpu()


def test_whole_windows_collection_in_one_powershell_run(laptop, monkeypatch) -> None:
    import inventory.host as host

    monkeypatch.setattr(host, "_platform", windows)
    monkeypatch.setattr(host, "_last_identity", None)
    facts = host.collect_host_facts()
    for section, _ in host.SECTIONS:
        assert getattr(facts, section) is not None, section
    assert facts.os.family == "windows" and facts.cpu.launch_year == 2017
    assert host.host_identity().mac == "54:bf:64:1a:2b:3c"  # reused: no second PowerShell start
    assert len(laptop.read_text().splitlines()) == 1
