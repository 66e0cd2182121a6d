"""Matching on the shared NVD records: version boundaries, AND/OR nodes, running-on platforms, the
Windows and Debian names of one product, network devices, and a precision set of real PC lists."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from collector.vulns.mapping import device_installed, installed_software, load_map, os_installed
from collector.vulns.matcher import Index

WIN10 = {
    "family": "windows",
    "name": "Windows 10 Pro",
    "version": "10.0.19045",
    "build": "19045.3803",
    "display_version": "22H2",
}
DEBIAN11 = {"family": "linux", "name": "Debian GNU/Linux", "version": "11", "distro_id": "debian"}


def cves(
    index: Index, software: list[dict[str, Any]], os: dict[str, Any] | None = WIN10
) -> dict[str, set[str]]:
    """product key -> CVE ids that apply."""
    installed, _ = installed_software(load_map(), software)
    out: dict[str, set[str]] = {}
    for h in index.match(installed + os_installed(os)):
        out.setdefault(h.installed.key, set()).add(h.cve)
    return out


def app(name: str, version: str, source: str = "registry") -> dict[str, Any]:
    return {"name": name, "version": version, "source": source}


@pytest.mark.parametrize(
    ("name", "version", "cve", "vulnerable"),
    [
        # versionEndExcluding 6.23: 6.22 is the last vulnerable, 6.23 the first fixed.
        ("WinRAR 6.22 (64-bit)", "6.22.0", "CVE-2023-38831", True),
        ("WinRAR 6.23 (64-bit)", "6.23.0", "CVE-2023-38831", False),
        # versionEndIncluding 5.61: 5.61 is vulnerable, 5.70 is not.
        ("WinRAR 5.61 (64-bit)", "5.61.0", "CVE-2018-20250", True),
        ("WinRAR 5.70 (64-bit)", "5.70.0", "CVE-2018-20250", False),
        ("Google Chrome", "124.0.6367.200", "CVE-2024-4671", True),
        ("Google Chrome", "124.0.6367.201", "CVE-2024-4671", False),
        # Adobe continuous track: start 15.007.20033 included, end 23.006.20320 excluded.
        ("Adobe Acrobat Reader DC", "23.006.20319", "CVE-2023-26369", True),
        ("Adobe Acrobat Reader DC", "23.006.20320", "CVE-2023-26369", False),
        ("Adobe Acrobat Reader DC", "15.007.20032", "CVE-2023-26369", False),
        # end included 20.013.20074
        ("Adobe Acrobat Reader DC", "20.013.20074", "CVE-2021-21017", True),
        ("Adobe Acrobat Reader DC", "20.013.20075", "CVE-2021-21017", False),
        # Java: exact versions only (1.7.0 update 9 listed, update 21 not)
        ("Java 7 Update 9", "7.0.90", "CVE-2013-2423", True),
        ("Java 7 Update 21", "7.0.210", "CVE-2013-2423", False),
    ],
)
def test_version_boundaries(
    fixture_index: Index, name: str, version: str, cve: str, vulnerable: bool
) -> None:
    found = (
        set().union(*cves(fixture_index, [app(name, version)]).values())
        if cves(fixture_index, [app(name, version)])
        else set()
    )
    assert (cve in found) is vulnerable


def test_running_on_configuration_needs_the_platform(fixture_index: Index) -> None:
    """CVE-2018-4990: Reader (vulnerable) AND running on Windows or macOS (not vulnerable)."""
    reader = [app("Adobe Acrobat Reader DC", "18.011.20038")]
    assert "CVE-2018-4990" in cves(fixture_index, reader)["adobe:acrobat_reader_dc"]
    # Same program, but the device's OS is not known: the AND node fails, no finding (precision).
    assert "CVE-2018-4990" not in cves(fixture_index, reader, os=None).get("adobe:acrobat_reader_dc", set())
    # The platform rows never become findings of their own.
    assert "microsoft:windows" not in cves(fixture_index, reader)


def test_and_or_nodes(fixture_index: Index) -> None:
    """An OR node of several products: any one of them is enough; the others are not blamed."""
    found = cves(fixture_index, [app("Mozilla Thunderbird (x64 en-US)", "68.6.0")])
    assert found == {"mozilla:thunderbird": {"CVE-2020-6819", "CVE-2022-26485"}}  # 68.6 > 60.7.2 (2019)
    # AND with a negated node is honoured: a configuration that does not hold matches nothing.
    from collector.vulns.cpe import parse
    from collector.vulns.matcher import CConfig, CNode

    idx = Index()
    a = idx.add_row("CVE-X", parse("cpe:2.3:a:rarlab:winrar:*:*:*:*:*:*:*:*"), True, end_excl="7.0")
    w = idx.add_row("CVE-X", parse("cpe:2.3:o:microsoft:windows:-:*:*:*:*:*:*:*"), False)
    idx.add_config("CVE-X", CConfig("AND", False, (CNode("OR", False, (a,)), CNode("OR", True, (w,)))))
    winrar = [app("WinRAR 6.22 (64-bit)", "6.22.0")]
    assert cves(idx, winrar) == {}  # on Windows: the negated node is false
    assert cves(idx, winrar, os=DEBIAN11) == {"rarlab:winrar": {"CVE-X"}}


def test_windows_and_debian_names_of_the_same_product(fixture_index: Index) -> None:
    win = cves(fixture_index, [app("Mozilla Firefox ESR (x64 en-US)", "91.6.0")])
    deb = cves(fixture_index, [app("firefox-esr", "91.6.0esr-1~deb11u1", "dpkg")], os=DEBIAN11)
    assert win == deb == {"mozilla:firefox_esr": {"CVE-2022-26485"}}
    assert cves(fixture_index, [app("firefox-esr", "91.6.1esr-1~deb11u1", "dpkg")], os=DEBIAN11) == {}
    win = cves(fixture_index, [app("Google Chrome", "90.0.4430.72")])
    deb = cves(fixture_index, [app("chromium", "90.0.4430.72-1~deb10u1", "dpkg")], os=DEBIAN11)
    assert "CVE-2021-21224" in win["google:chrome"] and "CVE-2021-21224" in deb["google:chrome"]


def test_windows_build_ranges(fixture_index: Index) -> None:
    old = dict(WIN10, build="19045.1465", display_version="22H2")
    old21 = dict(WIN10, version="10.0.19044", build="19044.1465", display_version="21H2")
    assert "CVE-2022-21882" in cves(fixture_index, [], os=old21).get("microsoft:windows_10_21h2", set())
    assert (
        cves(fixture_index, [], os=dict(old21, build="19044.1466")).get("microsoft:windows_10_21h2") is None
    )
    assert old  # 22H2 is not in CVE-2022-21882's configurations


@pytest.mark.parametrize(
    ("version", "vulnerable"), [("6.42", True), ("6.40.8", True), ("6.42.1", False), ("7.15.2", False)]
)
def test_network_device_versions(fixture_index: Index, version: str, vulnerable: bool) -> None:
    router = device_installed(load_map(), {"platform": "mikrotik_routeros", "os_version": version})
    assert any(h.cve == "CVE-2018-14847" for h in fixture_index.match(router)) is vulnerable


PRECISION = yaml.safe_load(
    (Path(__file__).parents[2] / "fixtures" / "vuln" / "precision_pcs.yaml").read_text(encoding="utf-8")
)


@pytest.mark.parametrize("pc", PRECISION, ids=[p["name"] for p in PRECISION])
def test_precision_set_of_real_software_lists(fixture_index: Index, pc: dict[str, Any]) -> None:
    software = [
        {"name": s[0], "version": s[1], "vendor": s[2] if len(s) > 2 else None, "source": "registry"}
        for s in pc["software"]
    ]
    found = cves(fixture_index, software, os=dict(WIN10, **(pc.get("os") or {})))
    expected = {k: set(v) for k, v in (pc.get("expect") or {}).items()}
    assert found == expected
