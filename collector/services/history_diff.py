"""What changed between two values of a fact section, as compact change records (pure functions).

Each function reads two stored section values (JSON as the wire contract wrote them) and returns
``Change`` records: what changed, how, and the before/after values cut to a short text. Volatile
values (free memory, SMART counters, IP addresses) are not changes; they would drown the timeline.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from collector.models.history import ChangeCategory

GIB = 1024**3
TEXT_MAX = 255
# Usable memory moves by a few MB with kernel or firmware updates; a module is at least 512 MB.
MEMORY_TOLERANCE = 256 * 1024**2


@dataclass
class Change:
    category: str
    kind: str
    action: str
    subject: str = ""
    before: str | None = None
    after: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.subject = _cut(self.subject) or ""
        self.before, self.after = _cut(self.before), _cut(self.after)


def _cut(value: Any) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text if len(text) <= TEXT_MAX else text[: TEXT_MAX - 1] + "…"


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[dict[str, Any]]:
    return [x for x in value if isinstance(x, dict)] if isinstance(value, list) else []


def _size(n: Any) -> str | None:
    if not isinstance(n, int | float) or n <= 0:
        return None
    return f"{n / GIB:.1f} GB" if n < 1000 * GIB else f"{n / 1024**4:.1f} TB"


def _field_changes(
    old: dict[str, Any], new: dict[str, Any], fields: Iterable[tuple[str, str, str]]
) -> list[Change]:
    """(key, kind, category) fields whose value went from one known value to another."""
    out = []
    for key, kind, category in fields:
        a, b = old.get(key), new.get(key)
        if a and b and str(a).strip() != str(b).strip():
            out.append(Change(category, kind, "changed", before=a, after=b))
    return out


# ---- hardware ----------------------------------------------------------------------------------


def system_changes(old: Any, new: Any) -> list[Change]:
    old, new = _dict(old), _dict(new)
    return _field_changes(
        old,
        new,
        [
            ("serial", "system_serial", ChangeCategory.HARDWARE),
            ("model", "system_model", ChangeCategory.HARDWARE),
            ("bios_version", "bios", ChangeCategory.HARDWARE),
        ],
    )


def cpu_changes(old: Any, new: Any) -> list[Change]:
    return _field_changes(_dict(old), _dict(new), [("model", "cpu", ChangeCategory.HARDWARE)])


def memory_changes(old: Any, new: Any) -> list[Change]:
    a, b = _dict(old).get("total_bytes"), _dict(new).get("total_bytes")
    if not isinstance(a, int) or not isinstance(b, int) or abs(a - b) < MEMORY_TOLERANCE:
        return []
    action = "increased" if b > a else "decreased"
    return [Change(ChangeCategory.HARDWARE, "memory", action, before=_size(a), after=_size(b))]


def _fixed_disks(value: Any) -> list[dict[str, Any]]:
    # USB sticks come and go every day: they are not the PC's hardware.
    return [
        d
        for d in _list(value)
        if d.get("name") and not d.get("removable") and str(d.get("bus") or "").lower() != "usb"
    ]


def _disk_label(d: dict[str, Any]) -> str:
    size = _size(d.get("size_bytes"))
    return ", ".join(str(x) for x in (d.get("model"), size, d.get("serial")) if x)


def disk_failing(d: dict[str, Any]) -> str | None:
    """Why a disk is failing (its own health verdict), or None: the signals a technician acts on."""
    smart = _dict(d.get("smart"))
    if not smart or smart.get("available") is False:
        return None
    if smart.get("passed") is False:
        return "SMART overall health self-assessment failed"
    if smart.get("predict_failure"):
        return "the disk predicts its own failure"
    if str(smart.get("health_status") or "").lower() == "unhealthy":
        return "Windows reports the disk unhealthy"
    if smart.get("nvme_critical_warning"):
        return f"NVMe critical warning {smart['nvme_critical_warning']}"
    for a in _list(smart.get("attributes")):
        if a.get("when_failed") == "now":
            return f"SMART attribute {a.get('id')} {a.get('name')} at or below its threshold"
    return None


def disk_changes(old: Any, new: Any) -> list[Change]:
    before = {d["name"]: d for d in _fixed_disks(old)}
    after = {d["name"]: d for d in _fixed_disks(new)}
    out: list[Change] = []
    for name, d in after.items():
        prev = before.get(name)
        if prev is None:
            out.append(Change(ChangeCategory.HARDWARE, "disk", "added", name, after=_disk_label(d)))
            continue
        a, b = prev.get("serial"), d.get("serial")
        if a and b and str(a).strip() != str(b).strip():
            out.append(
                Change(
                    ChangeCategory.HARDWARE,
                    "disk_serial",
                    "changed",
                    name,
                    before=_disk_label(prev),
                    after=_disk_label(d),
                    detail={"serial_before": a, "serial_after": b},
                )
            )
        elif prev.get("size_bytes") and d.get("size_bytes") and prev["size_bytes"] != d["size_bytes"]:
            out.append(
                Change(
                    ChangeCategory.HARDWARE,
                    "disk",
                    "changed",
                    name,
                    before=_disk_label(prev),
                    after=_disk_label(d),
                )
            )
        why = disk_failing(d)
        if why and not disk_failing(prev):
            out.append(Change(ChangeCategory.HARDWARE, "disk_health", "failing", name, after=why))
    for name, d in before.items():
        if name not in after:
            out.append(Change(ChangeCategory.HARDWARE, "disk", "removed", name, before=_disk_label(d)))
    return out


def _physical_nics(value: Any) -> dict[str, dict[str, Any]]:
    return {
        str(n["mac"]).lower(): n
        for n in _list(value)
        if n.get("mac") and n.get("physical") is not False and n.get("kind") not in ("loopback", "virtual")
    }


def nic_changes(old: Any, new: Any) -> list[Change]:
    before, after = _physical_nics(old), _physical_nics(new)
    out = [
        Change(ChangeCategory.HARDWARE, "nic", "added", n.get("name") or mac, after=mac)
        for mac, n in after.items()
        if mac not in before
    ]
    out += [
        Change(ChangeCategory.HARDWARE, "nic", "removed", n.get("name") or mac, before=mac)
        for mac, n in before.items()
        if mac not in after
    ]
    return out


def battery_changes(old: Any, new: Any) -> list[Change]:
    def key(b: dict[str, Any]) -> tuple[Any, ...]:
        return (b.get("manufacturer"), b.get("model"), b.get("design_capacity_wh"))

    def label(b: dict[str, Any]) -> str:
        cap = f"{b['design_capacity_wh']} Wh" if b.get("design_capacity_wh") else None
        return ", ".join(str(x) for x in (b.get("manufacturer"), b.get("model"), cap) if x)

    before = {b.get("name") or "": b for b in _list(old)}
    after = {b.get("name") or "": b for b in _list(new)}
    out = []
    for name, b in after.items():
        prev = before.get(name)
        if prev is None:
            out.append(Change(ChangeCategory.HARDWARE, "battery", "added", name, after=label(b)))
        elif key(prev) != key(b):
            out.append(Change(ChangeCategory.HARDWARE, "battery", "changed", name, label(prev), label(b)))
    out += [
        Change(ChangeCategory.HARDWARE, "battery", "removed", name, before=label(b))
        for name, b in before.items()
        if name not in after
    ]
    return out


# ---- operating system and software -------------------------------------------------------------


def _os_label(o: dict[str, Any]) -> str:
    parts = [o.get("name"), o.get("display_version") or o.get("version")]
    if o.get("build"):
        parts.append(f"build {o['build']}")
    return " ".join(str(p) for p in parts if p)


def _version_key(text: str) -> tuple[Any, ...]:
    out: list[Any] = []
    for part in text.replace("-", ".").replace("_", ".").split("."):
        out.append((0, int(part), "") if part.isdigit() else (1, 0, part))
    return tuple(out)


def os_changes(old: Any, new: Any) -> list[Change]:
    old, new = _dict(old), _dict(new)
    out = []
    a, b = _os_label(old), _os_label(new)
    if a and b and a != b:
        newer = _version_key(str(new.get("build") or new.get("version") or "")) > _version_key(
            str(old.get("build") or old.get("version") or "")
        )
        out.append(Change(ChangeCategory.OS, "os", "upgraded" if newer else "changed", before=a, after=b))
    ka, kb = old.get("kernel"), new.get("kernel")
    if ka and kb and ka != kb:
        out.append(Change(ChangeCategory.OS, "kernel", "updated", before=ka, after=kb))
    return out


def _programs(value: Any) -> dict[str, set[str]]:
    """Program name (case-folded key) -> its versions; one name may be installed in several."""
    out: dict[str, set[str]] = {}
    for s in _list(value):
        name = " ".join(str(s.get("name") or "").split())
        if name:
            out.setdefault(name, set()).add(str(s.get("version") or ""))
    return out


def software_changes(old: Any, new: Any) -> list[Change]:
    before, after = _programs(old), _programs(new)
    out: list[Change] = []
    for name in sorted(after, key=str.lower):
        versions = after[name]
        if name not in before:
            out.append(
                Change(ChangeCategory.SOFTWARE, "software", "installed", name, after=_versions(versions))
            )
        elif versions != before[name]:
            out.append(
                Change(
                    ChangeCategory.SOFTWARE,
                    "software",
                    "updated",
                    name,
                    before=_versions(before[name]),
                    after=_versions(versions),
                )
            )
    for name in sorted(before, key=str.lower):
        if name not in after:
            out.append(
                Change(ChangeCategory.SOFTWARE, "software", "removed", name, before=_versions(before[name]))
            )
    return out


def _versions(versions: set[str]) -> str | None:
    shown = sorted((v for v in versions if v), key=_version_key)
    return ", ".join(shown) or None


# ---- network devices ---------------------------------------------------------------------------


def network_device_changes(old: Any, new: Any) -> list[Change]:
    old, new = _dict(old), _dict(new)
    out = _field_changes(
        old,
        new,
        [
            ("os_version", "firmware", ChangeCategory.CONFIG),
            ("serial_number", "device_serial", ChangeCategory.HARDWARE),
            ("model", "device_model", ChangeCategory.HARDWARE),
        ],
    )
    a, b = old.get("config"), new.get("config")
    if isinstance(a, str) and isinstance(b, str) and a != b:
        added = removed = 0
        for line in difflib.unified_diff(a.splitlines(), b.splitlines(), lineterm="", n=0):
            if line.startswith("+") and not line.startswith("+++"):
                added += 1
            elif line.startswith("-") and not line.startswith("---"):
                removed += 1
        if added or removed:
            out.append(
                Change(
                    ChangeCategory.CONFIG, "config", "changed", detail={"added": added, "removed": removed}
                )
            )
    return out


# Section name -> the function that compares two of its values.
DIFFERS: dict[str, Callable[[Any, Any], list[Change]]] = {
    "system": system_changes,
    "cpu": cpu_changes,
    "memory": memory_changes,
    "disks": disk_changes,
    "network_interfaces": nic_changes,
    "batteries": battery_changes,
    "os": os_changes,
    "software": software_changes,
    "device": network_device_changes,
}


def section_changes(section: str, old: Any, new: Any) -> list[Change]:
    differ = DIFFERS.get(section)
    return differ(old, new) if differ else []
