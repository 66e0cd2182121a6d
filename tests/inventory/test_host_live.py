"""The Linux host inventory compared with the system itself (psutil's way: ask another tool)."""

from __future__ import annotations

import json
import os
import platform
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from inventory.facts import Facts
from inventory.host import collect_host_facts, host_identity, hostname, linux

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="compares with a live Linux system"
)


def test_hostname_is_the_systems() -> None:
    assert hostname() == socket.gethostname()


def test_cpu_threads_and_model_match_the_kernel() -> None:
    cpu = linux.cpu()
    assert cpu.threads == os.cpu_count()
    assert cpu.physical_cores is not None and 1 <= cpu.physical_cores <= cpu.threads
    cpuinfo = Path("/proc/cpuinfo").read_text()
    if "model name" in cpuinfo:
        first = next(line for line in cpuinfo.splitlines() if line.startswith("model name"))
        assert cpu.model == " ".join(first.split(":", 1)[1].split())


def test_memory_total_matches_meminfo() -> None:
    meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    mem_total = int(meminfo["MemTotal"].split()[0]) * 1024
    mem = linux.memory()
    assert mem.total_bytes == mem_total
    assert mem.available_bytes is not None and 0 < mem.available_bytes <= mem.total_bytes


@pytest.mark.skipif(shutil.which("lsblk") is None, reason="lsblk not installed")
def test_disks_match_lsblk() -> None:
    out = subprocess.run(["lsblk", "-d", "-b", "-J", "-o", "NAME,SIZE,TYPE"], capture_output=True, text=True)
    expected = {
        d["name"]: int(d["size"])
        for d in json.loads(out.stdout)["blockdevices"]
        if d["type"] == "disk"
        and int(d["size"] or 0) > 0
        and not d["name"].startswith(("loop", "zram", "ram", "dm-", "md", "nbd"))
    }
    got = {d.name: d.size_bytes for d in linux.disks()}
    assert got == expected
    root_dev = os.stat("/").st_dev
    system = [d.name for d in linux.disks() if d.system_disk]
    # The disk holding / is one of them whenever / sits on a block device this machine lists.
    if Path(f"/sys/dev/block/{os.major(root_dev)}:{os.minor(root_dev)}").exists():
        assert len(system) >= 1


def test_root_filesystem_usage_matches_statvfs() -> None:
    fs = {f.mountpoint: f for f in linux.filesystems()}
    assert "/" in fs
    st = os.statvfs("/")
    assert fs["/"].total_bytes == st.f_blocks * st.f_frsize
    # Mounts of one device count once: no two entries share a device.
    devices = [f.device for f in fs.values()]
    assert len(devices) == len(set(devices))


def test_os_matches_os_release_and_uname() -> None:
    info = linux.os_info()
    release = Path("/etc/os-release").read_text()
    assert f'NAME="{info.name}"' in release or f"NAME={info.name}" in release
    assert info.kernel == platform.release()
    assert info.boot_time is not None


def test_network_interfaces_match_sysfs() -> None:
    names = {i.name for i in linux.network_interfaces()}
    assert names == set(os.listdir("/sys/class/net"))
    lo = next(i for i in linux.network_interfaces() if i.name == "lo")
    assert lo.kind == "loopback" and not lo.physical and "127.0.0.1/8" in lo.ipv4


@pytest.mark.skipif(not Path("/var/lib/dpkg/status").exists(), reason="not a dpkg system")
def test_software_matches_the_dpkg_database() -> None:
    status = Path("/var/lib/dpkg/status").read_text(errors="replace")
    installed = sum(
        1 for block in status.split("\n\n") if "\nStatus: install ok installed" in "\n" + block.strip()
    )
    got = linux.software()
    assert len(got) == installed
    assert all(s.source == "dpkg" and s.version for s in got)


def test_users_include_root_as_admin() -> None:
    users = {u.name: u for u in linux.users()}
    assert users["root"].admin and users["root"].uid == "0"
    passwd = [line.split(":") for line in Path("/etc/passwd").read_text().splitlines() if line]
    humans = {f[0] for f in passwd if f[2].isdigit() and (f[2] == "0" or 1000 <= int(f[2]) < 65534)}
    assert set(users) == humans


def test_identity_uses_machine_id_and_a_physical_mac() -> None:
    ident = host_identity()
    assert ident.machine_id == Path("/etc/machine-id").read_text().strip()
    if ident.mac:
        owners = [
            n
            for n in os.listdir("/sys/class/net")
            if Path(f"/sys/class/net/{n}/address").read_text().strip() == ident.mac
        ]
        assert any(Path(f"/sys/class/net/{n}/device").exists() for n in owners)


def test_collect_host_facts_fills_every_section_it_can() -> None:
    facts = collect_host_facts()
    assert isinstance(facts, Facts)
    for section in ("system", "os", "cpu", "memory", "disks", "filesystems", "network_interfaces", "users"):
        assert getattr(facts, section) is not None, section
    assert facts.system.hostname == socket.gethostname()
    assert facts.batteries == [] or all(b.name for b in facts.batteries)
    assert facts.health is not None
    # The facts survive the wire format.
    assert Facts.model_validate_json(facts.model_dump_json()) == facts
