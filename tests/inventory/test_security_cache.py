"""The pending-updates simulation is reused until the package database changes."""

from __future__ import annotations

import os
from pathlib import Path

from inventory.host.security import collect_security_facts
from inventory.host.security.probe import Probe

APT_OUTPUT = "Inst libssl3 [3.0.11-1] (3.0.13-1 Debian-Security:12/stable-security [amd64])\n"


def test_apt_simulation_is_cached_until_dpkg_status_changes(tmp_path: Path):
    root = tmp_path / "root"
    (root / "var/lib/dpkg").mkdir(parents=True)
    (root / "var/lib/apt/lists").mkdir(parents=True)
    status = root / "var/lib/dpkg/status"
    status.write_text("Package: libssl3\n")
    calls: list[str] = []

    def run(name, argv, timeout):  # type: ignore[no-untyped-def]
        calls.append(name)
        return APT_OUTPUT if name == "apt_simulate" else None

    cache = tmp_path / "cache"

    def collect():  # type: ignore[no-untyped-def]
        probe = Probe(root=root, run=run, listeners=list, cache_dir=cache)
        return collect_security_facts(probe, platform="linux", parts=("updates",))

    first = collect()
    second = collect()
    assert first.updates.pending_security == second.updates.pending_security == 1
    assert calls.count("apt_simulate") == 1  # the second collection reused the first answer
    status.write_text("Package: libssl3\nVersion: 3.0.13-1\n")
    os.utime(status, ns=(status.stat().st_atime_ns, status.stat().st_mtime_ns + 10**9))
    collect()
    assert calls.count("apt_simulate") == 2


def test_security_section_has_no_volatile_timestamp(tmp_path: Path):
    probe = Probe(root=tmp_path, run=lambda n, a, t: None, listeners=list)
    facts = collect_security_facts(probe, platform="linux", parts=("boot",))
    assert facts.collected_at is None
