"""Version comparison and the software-to-CPE map: what a technician would see as "the version"."""

from __future__ import annotations

import pytest

from collector.vulns.cpe import CpeError, parse
from collector.vulns.mapping import device_installed, installed_software, load_map, os_installed
from collector.vulns.versions import compare, debian_upstream


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("6.23", "6.23.0", 0),
        ("6.22", "6.23", -1),
        ("124.0.6367.200", "124.0.6367.201", -1),
        ("20.001.3005", "20.001.30018", -1),  # Adobe's zero-padded parts compare as numbers
        ("1.0rc1", "1.0", -1),
        ("115.3.0esr", "115.3.0", 1),
        ("15.2(4)m7", "15.2(4)m10", -1),
        ("19.4r3-s1", "19.4r3-s2", -1),
        ("v200r010c10spc600", "v200r010c10spc700", -1),
    ],
)
def test_versions_compare_as_the_vendor_means(a: str, b: str, expected: int) -> None:
    assert compare(a, b) == expected
    assert compare(b, a) == -expected


def test_debian_versions_lose_epoch_and_revision() -> None:
    assert debian_upstream("1:115.3.0esr-1~deb12u1") == "115.3.0esr"
    assert debian_upstream("90.0.4430.72-1~deb10u1") == "90.0.4430.72"


def test_cpe_names_are_parsed_with_escapes_and_bad_ones_named() -> None:
    c = parse(r"cpe:2.3:o:cisco:ios:15.2\(4\)m7:*:*:*:*:*:*:*")
    assert (c.part, c.key, c.version) == ("o", "cisco:ios", "15.2(4)m7")
    with pytest.raises(CpeError, match="not a CPE 2.3 name"):
        parse("cpe:/a:rarlab:winrar:6.22")


def _one(name: str, version: str | None, source: str = "registry", vendor: str | None = None):  # type: ignore[no-untyped-def]
    found, unmapped = installed_software(
        load_map(), [{"name": name, "version": version, "source": source, "vendor": vendor}]
    )
    assert not unmapped, f"{name} is unmapped"
    (item,) = found
    return item


@pytest.mark.parametrize(
    ("name", "version", "source", "key", "cpe_version", "update"),
    [
        ("7-Zip 23.01 (x64)", "23.01", "registry", "7-zip:7-zip", "23.01", "*"),
        ("WinRAR 6.22 (64-bit)", "6.22.0", "registry", "rarlab:winrar", "6.22", "*"),
        ("Java 8 Update 361 (64-bit)", "8.0.3610.9", "registry", "oracle:jre", "1.8.0", "update361"),
        ("Java 7 Update 9", "7.0.90", "registry", "oracle:jre", "1.7.0", "update9"),
        (
            "Microsoft Office Professional Plus 2016",
            "16.0.4266.1001",
            "registry",
            "microsoft:office",
            "2016",
            "*",
        ),
        ("Mozilla Firefox ESR (x64 en-US)", "91.6.0", "registry", "mozilla:firefox_esr", "91.6.0", "*"),
        ("firefox-esr", "91.6.0esr-1~deb11u1", "dpkg", "mozilla:firefox_esr", "91.6.0", "*"),
        ("Mozilla Firefox (x64 vi)", "97.0.1", "registry", "mozilla:firefox", "97.0.1", "*"),
        ("chromium", "90.0.4430.72-1~deb10u1", "dpkg", "google:chrome", "90.0.4430.72", "*"),
        ("AnyDesk", "ad 8.0.8", "registry", "anydesk:anydesk", "8.0.8", "*"),
        ("UltraViewer version 6.6.78", "6.6.78", "registry", "ultraviewer:ultraviewer", "6.6.78", "*"),
        ("PuTTY release 0.80 (64-bit)", "0.80.0.0", "registry", "putty:putty", "0.80", "*"),
    ],
)
def test_installed_names_map_to_the_cpe_nvd_uses(name, version, source, key, cpe_version, update) -> None:  # type: ignore[no-untyped-def]
    item = _one(name, version, source)
    assert (item.key, item.cpe.version, item.cpe.update) == (key, cpe_version, update)


def test_ca_token_tools_are_mapped_not_left_unmapped() -> None:
    for name in (
        "VNPT-CA Token Manager",
        "Viettel-CA Token Manager",
        "BkavCA Token Manager",
        "VNPT-CA Plugin",
    ):
        assert _one(name, "1.0.0.1").key.split(":")[0] in ("vnpt", "viettel", "bkav")


def test_the_map_covers_at_least_40_products_and_unknown_names_stay_unmapped() -> None:
    m = load_map()
    assert len(m.rules) >= 40
    found, unmapped = installed_software(
        m, [{"name": "UniKey 4.3 RC5", "version": "4.3"}, {"name": "Google Chrome Helper", "version": "1"}]
    )
    # No fuzzy matching: "Google Chrome Helper" is not Google Chrome.
    assert found == [] and [u.name for u in unmapped] == ["UniKey 4.3 RC5", "Google Chrome Helper"]
    # Distribution packages whose fixes are backported (openssh, libreoffice) are not mapped.
    found, unmapped = installed_software(
        m, [{"name": "openssh-server", "version": "1:9.2p1-2+deb12u2", "source": "dpkg"}]
    )
    assert found == []


def test_operating_systems_and_network_devices_become_cpes() -> None:
    win = os_installed(
        {
            "family": "windows",
            "name": "Windows 10 Pro",
            "version": "10.0.19044",
            "build": "19044.1200",
            "display_version": "21H2",
        }
    )
    assert [(i.key, i.cpe.version) for i in win] == [
        ("microsoft:windows", "10.0.19044.1200"),
        ("microsoft:windows_10_21h2", "10.0.19044.1200"),
    ]
    deb = os_installed(
        {"family": "linux", "name": "Debian GNU/Linux", "version": "12", "distro_id": "debian"}
    )
    assert [(i.key, i.cpe.version) for i in deb] == [("debian:debian_linux", "12.0")]
    m = load_map()
    cases = {
        ("mikrotik_routeros", "7.15.2"): ("mikrotik:routeros", "7.15.2", "*"),
        ("cisco_ios", "17.9.4a"): ("cisco:ios_xe", "17.9.4a", "*"),
        ("cisco_ios", "15.2(4)M7"): ("cisco:ios", "15.2(4)m7", "*"),
        ("juniper_junos", "22.4R3-S2.11"): ("juniper:junos", "22.4", "r3-s2"),
        ("huawei_vrp", "V300R019C10SPC300"): ("huawei:vrp", "v300r019c10spc300", "*"),
    }
    for (platform, version), expected in cases.items():
        (item,) = device_installed(m, {"platform": platform, "os_version": version})
        assert (item.key, item.cpe.version, item.cpe.update) == expected
