"""Installed software and network-device OS versions -> CPE names, from ``software_cpe.yaml``.

Exact rules only (a name pattern anchored at the start, optionally the publisher and the package
source): a program no rule names is *unmapped* and gets no finding (precision first); the unmapped
names are listed for an administrator. Each rule says how to read the version NVD compares
("7-Zip 23.01 (x64)" -> 23.01, WinRAR 6.22.0 -> 6.22, "Java 8 Update 361" -> 1.8.0 update361).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

from collector.vulns.cpe import ANY, Cpe
from collector.vulns.versions import debian_upstream, is_version

SOURCES = ("registry", "dpkg", "rpm")
TARGET_SW = {"registry": "windows", "dpkg": "linux", "rpm": "linux"}


class MappingError(ValueError):
    pass


@dataclass(frozen=True)
class ProductRule:
    id: str
    label: str
    part: str
    vendor: str
    product: str
    names: tuple[re.Pattern[str], ...]
    publisher: re.Pattern[str] | None
    sources: frozenset[str]
    version_from: str  # version, name
    version_regex: re.Pattern[str] | None
    version_template: str | None
    update_template: str | None
    parts: int | None
    sw_edition: str

    @property
    def key(self) -> str:
        return f"{self.vendor}:{self.product}"


@dataclass(frozen=True, slots=True)
class Installed:
    """One program (or OS) on a device, as CPE, with what the device reported."""

    key: str  # vendor:product
    label: str
    cpe: Cpe  # version ANY when the version could not be read
    version: str | None  # normalised; None: unreadable
    name: str  # as reported
    raw_version: str | None
    # Only a platform for "running on" configurations, never blamed itself: NVD lists Linux
    # distributions as vulnerable when their package of a program is, and the package is what we match.
    platform_only: bool = False


@dataclass(frozen=True, slots=True)
class Unmapped:
    name: str
    source: str
    vendor: str | None
    version: str | None


def _rule(raw: Mapping[str, Any], i: int) -> ProductRule:
    where = f"software_cpe.yaml products[{i}] {raw.get('id', '')}"
    try:
        part, vendor, product = str(raw["cpe"]).split(":")
        names = tuple(re.compile(p, re.I) for p in raw["names"])
        v = raw.get("version") or {}
        return ProductRule(
            id=str(raw["id"]),
            label=str(raw["label"]),
            part=part,
            vendor=vendor,
            product=product,
            names=names,
            publisher=re.compile(raw["publisher"], re.I) if raw.get("publisher") else None,
            sources=frozenset(raw.get("sources") or SOURCES),
            version_from=str(v.get("from", "version")),
            version_regex=re.compile(v["regex"], re.I) if v.get("regex") else None,
            version_template=v.get("template"),
            update_template=v.get("update"),
            parts=int(v["parts"]) if v.get("parts") else None,
            sw_edition=str(raw.get("sw_edition") or ANY),
        )
    except (KeyError, ValueError, TypeError, re.error) as exc:
        raise MappingError(f"{where}: {exc}") from exc


@dataclass(eq=False)
class SoftwareMap:
    rules: tuple[ProductRule, ...]
    devices: Mapping[str, Any]
    # Local additions from the database (exact name -> rule id or "ignore").
    local: Mapping[tuple[str, str], str]
    # A fleet repeats the same few hundred names: the regex scan runs once per distinct name, and
    # the CPE of a (name, version) once per distinct pair.
    cache: dict[tuple[str, str, str], ProductRule | None] = field(default_factory=dict, repr=False)
    items: dict[tuple[str, Any, Any, str], Installed | Unmapped | None] = field(
        default_factory=dict, repr=False
    )


@cache
def load_map() -> SoftwareMap:
    text = (resources.files("collector.data") / "software_cpe.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    rules = tuple(_rule(r, i) for i, r in enumerate(data["products"]))
    ids = [r.id for r in rules]
    if len(ids) != len(set(ids)):
        raise MappingError("software_cpe.yaml: duplicate product ids")
    return SoftwareMap(rules=rules, devices=data.get("devices") or {}, local={})


def with_local(base: SoftwareMap, local: Mapping[tuple[str, str], str]) -> SoftwareMap:
    """The shipped rules plus an administrator's exact-name mappings (``(source, name lower)`` ->
    a rule id, or ``ignore``)."""
    return SoftwareMap(rules=base.rules, devices=base.devices, local=dict(local))


def _lookup(m: SoftwareMap, name: str, vendor: str, source: str) -> ProductRule | None:
    ck = (name, vendor, source)
    if ck in m.cache:
        return m.cache[ck]
    found: ProductRule | None = None
    local = m.local.get((source, name.lower()))
    if local is not None:
        found = next((r for r in m.rules if r.id == local), None)
    else:
        for r in m.rules:
            if source not in r.sources:
                continue
            if not any(p.match(name) for p in r.names):
                continue
            if r.publisher is not None and not r.publisher.search(vendor):
                continue
            found = r
            break
    if len(m.cache) > 200_000:
        m.cache.clear()
    m.cache[ck] = found
    return found


def is_ignored(m: SoftwareMap, name: str, source: str) -> bool:
    return m.local.get((source, name.lower())) == "ignore"


def normalise_version(
    rule: ProductRule, name: str, version: str | None, source: str
) -> tuple[str | None, str]:
    """(version, update) as NVD writes them for this product; version None when unreadable."""
    value = name if rule.version_from == "name" else (version or "")
    if source == "dpkg" and rule.version_from != "name":
        value = debian_upstream(value)
    update = ANY
    if rule.version_regex is not None:
        m = rule.version_regex.search(value)
        if m is None:
            return None, ANY
        groups = [g or "" for g in m.groups()] or [m.group(0)]
        value = rule.version_template.format(*groups) if rule.version_template else groups[0]
        if rule.update_template:
            update = rule.update_template.format(*groups).lower()
    value = value.strip()
    if rule.parts:
        pieces = value.split(".")
        value = ".".join(pieces[: rule.parts])
    if not value or not is_version(value):
        return None, ANY
    return value.lower(), update


def installed_software(
    m: SoftwareMap, software: Iterable[Mapping[str, Any]]
) -> tuple[list[Installed], list[Unmapped]]:
    """The mapped programs of a software section (as CPEs) and the names no rule knows."""
    found: list[Installed] = []
    unmapped: dict[tuple[str, str], Unmapped] = {}
    memo = m.items
    for item in software:
        key = (
            item.get("name") or "",
            item.get("vendor"),
            item.get("version"),
            item.get("source") or "registry",
        )
        if key in memo:
            result = memo[key]
        else:
            result = _one(m, *key)
            if len(memo) > 500_000:
                memo.clear()
            memo[key] = result
        if isinstance(result, Installed):
            found.append(result)
        elif result is not None and (result.source, result.name) not in unmapped:
            unmapped[(result.source, result.name)] = result
    return found, list(unmapped.values())


def _one(m: SoftwareMap, name: Any, vendor: Any, version: Any, source: str) -> Installed | Unmapped | None:
    name = str(name).strip()
    if not name:
        return None
    raw_version = None if version is None else str(version)
    rule = _lookup(m, name, vendor or "", source)
    if rule is None:
        return None if is_ignored(m, name, source) else Unmapped(name, source, vendor, raw_version)
    norm, update = normalise_version(rule, name, raw_version, source)
    cpe = Cpe(
        rule.part,
        rule.vendor,
        rule.product,
        norm or ANY,
        update,
        ANY,
        ANY,
        rule.sw_edition,
        TARGET_SW.get(source, ANY),
    )
    return Installed(rule.key, rule.label, cpe, norm, name, raw_version)


# ---- operating systems and network devices ----------------------------------------------------


def _win_release(os: Mapping[str, Any]) -> str | None:
    name = str(os.get("name") or "").lower()
    build = str(os.get("build") or "")
    display = str(os.get("display_version") or "").lower()
    if "server" in name:
        m = re.search(r"server (\d{4})(?: r2)?", name)
        if not m:
            return None
        return f"windows_server_{m.group(1)}" + ("_r2" if " r2" in name else "")
    major = build.split(".")[0]
    if not major.isdigit() or not display:
        return None
    generation = "11" if int(major) >= 22000 else "10"
    return f"windows_{generation}_{display}"


def os_installed(os: Mapping[str, Any] | None) -> list[Installed]:
    """The device's operating system as CPEs: what "running on" configurations test."""
    if not os:
        return []
    family = str(os.get("family") or "").lower()
    out: list[Installed] = []
    if family == "windows":
        version = str(os.get("version") or "")
        build = str(os.get("build") or "")
        full = f"10.0.{build}" if build and version.startswith("10.") else version or None
        label = f"Windows {os.get('display_version') or version}".strip()
        out.append(_os("microsoft", "windows", full, label))
        release = _win_release(os)
        if release:
            out.append(_os("microsoft", release, full, str(os.get("name") or label)))
    else:
        distro = str(os.get("distro_id") or "").lower()
        version = str(os.get("version") or "")
        major = version.split(".")[0]
        if distro == "debian" and major.isdigit():
            out.append(_os("debian", "debian_linux", f"{major}.0", f"Debian {major}", True))
        elif distro == "ubuntu" and version:
            out.append(_os("canonical", "ubuntu_linux", version, f"Ubuntu {version}", True))
        elif distro == "fedora" and major.isdigit():
            out.append(_os("fedoraproject", "fedora", major, f"Fedora {major}", True))
    return out


def _os(vendor: str, product: str, version: str | None, label: str, platform_only: bool = False) -> Installed:
    cpe = Cpe("o", vendor, product, (version or ANY).lower())
    return Installed(f"{vendor}:{product}", label, cpe, version, label, version, platform_only)


def device_installed(m: SoftwareMap, device: Mapping[str, Any] | None) -> list[Installed]:
    """A network device's OS (platform + version) as a CPE, per the ``devices`` table of the map."""
    if not device:
        return []
    platform = str(device.get("platform") or "")
    raw = str(device.get("os_version") or "").strip()
    rules = m.devices.get(platform)
    if not rules or not raw:
        return []
    for rule in rules:
        if rule.get("min_major") is not None:
            major = re.match(r"\d+", raw)
            if not major or int(major.group(0)) < int(rule["min_major"]):
                continue
        if rule.get("max_major") is not None:
            major = re.match(r"\d+", raw)
            if not major or int(major.group(0)) > int(rule["max_major"]):
                continue
        m_ = re.search(rule.get("regex", r"(.+)"), raw, re.I)
        if not m_:
            continue
        version = (rule.get("template") or "{0}").format(*[g or "" for g in m_.groups()]).lower()
        update = (rule.get("update") or "*").format(*[g or "" for g in m_.groups()]).lower() or ANY
        vendor, product = str(rule["cpe"]).split(":")
        cpe = Cpe("o", vendor, product, version, update)
        return [Installed(f"{vendor}:{product}", str(rule["label"]), cpe, version, raw, raw)]
    return []
