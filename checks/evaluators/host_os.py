"""Operating system lifecycle: still serviced, ending soon, and Windows 11 eligibility of a Windows 10 PC."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from checks.data import os_eol_table
from checks.evaluators._util import GIB
from checks.model import Verdict, evaluator, msg, now, term
from checks.runner import MissingFact, require
from inventory.facts import Facts, OsFacts
from inventory.report import EvidenceMessage


@dataclass(frozen=True)
class Lifecycle:
    product: str
    cycle: str
    label: str
    eol: date | None
    eoes: date | None
    assumption: str = ""  # how the match was made when the facts were not exact


def _windows_build(os: OsFacts) -> int | None:
    for text in (os.build, os.version, os.kernel):
        if not text:
            continue
        m = re.search(r"\b(?:10|6)\.\d\.(\d{4,5})\b", text) or re.fullmatch(
            r"\s*(\d{4,5})(?:\.\d+)?\s*", text
        )
        if m:
            return int(m.group(1))
    return None


def _windows_edition_class(os: OsFacts) -> str | None:
    """w (Home/Pro), e (Enterprise/Education), e-lts (LTSC/LTSB), iot-lts; None when unknown."""
    text = f"{os.edition or ''} {os.name}".lower()
    iot = "iot" in text
    lts = "ltsc" in text or "ltsb" in text or bool(re.search(r"enterprises\b", text))
    if iot and lts:
        return "iot-lts"
    if lts:
        return "e-lts"
    if "enterprise" in text or "education" in text and "pro" not in text:
        return "e"
    if any(w in text for w in ("home", "core", "pro", "professional", "workstation")):
        return "w"
    return None


def _cycle_class(cycle: str) -> str:
    for suffix in ("-iot-lts", "-e-lts", "-iot", "-e", "-w"):
        if cycle.endswith(suffix):
            return suffix[1:]
    return ""


def _d(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _row(product: str, row: dict[str, Any], assumption: str = "") -> Lifecycle:
    label = row["label"]
    if product == "windows":
        label = f"Windows {label}"
    elif product == "windows-server":
        label = label if label.startswith("Windows") else f"Windows Server {label}"
    else:
        label = (
            f"{ {'ubuntu': 'Ubuntu', 'debian': 'Debian', 'rhel': 'RHEL', 'macos': 'macOS'}[product] } {label}"
        )
    return Lifecycle(product, row["cycle"], label, _d(row["eol"]), _d(row["eoes"]), assumption)


def match_lifecycle(os: OsFacts) -> Lifecycle | None:
    """The lifecycle row of this OS in the shipped table, or None when the table does not know it."""
    products = os_eol_table()["products"]
    family = os.family.lower()
    name = os.name.lower()
    if family == "windows" or name.startswith(("windows", "microsoft windows")):
        build = _windows_build(os)
        if build is None:
            return None
        server = "server" in name or "server" in (os.edition or "").lower()
        product = "windows-server" if server else "windows"
        rows = [r for r in products[product] if (r["latest"] or "").endswith(f".{build}")]
        if not rows:
            return None
        if server:
            rows.sort(key=lambda r: not r["lts"])  # the LTSC release over a same-build SAC one
            return _row(product, rows[0])
        want = _windows_edition_class(os)
        by_class = {_cycle_class(r["cycle"]): r for r in rows}
        if "" in by_class:  # one cycle for every edition (e.g. 10 22H2)
            return _row(product, by_class[""])
        if want in by_class:
            return _row(product, by_class[want])
        if want == "iot-lts" and "e-lts" in by_class:
            return _row(product, by_class["e-lts"])
        if "w" in by_class:
            return _row(product, by_class["w"], term("edition unknown: Home/Pro dates assumed"))
        return None
    version = f"{os.version or ''} {os.name}"
    for product, key in (("ubuntu", "ubuntu"), ("debian", "debian"), ("rhel", "red hat enterprise linux")):
        if key in name or (product == "rhel" and re.search(r"\brhel\b", name)):
            if product == "ubuntu":
                m = re.search(r"\b(\d{1,2}\.\d{2})\b", version)
            else:
                m = re.search(r"\b(\d{1,2})(?:\.\d+)?\b", version)
            if not m:
                return None
            for r in products[product]:
                if r["cycle"] == m.group(1):
                    return _row(product, r)
            return None
    return None


class SupportParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # None: fail once servicing has ended. A number: fail when it ends within that many days (a warning
    # check), and leave an OS whose servicing already ended to the first check.
    within_days: int | None = Field(default=None, ge=1)
    # Count paid extended support (Windows ESU, Ubuntu ESM, Debian LTS) as supported.
    count_extended: bool = False


def _snapshot() -> str:
    date: str = os_eol_table()["source"]["snapshot_date"]
    return date


def _lifecycle_message(
    past: bool, with_esu: str, with_note: str, ended: bool, **params: Any
) -> EvidenceMessage:
    """The end-of-support sentence; its parts vary, every combination is a msgid of evidence.po."""
    # The end used is literal text, not a parameter: "%(used)s %(end)s" could not be read back from old
    # English evidence (the compatibility map could not tell where one ends).
    used = "end of extended support" if params.pop("extended") else "end of servicing"
    msgid = "%(label)s: " + used + " %(end)s, " + ("%(days)s days ago" if past else "in %(days)s days")
    if with_esu:
        msgid += "; paid extended support until %(esu)s"
    msgid += " (lifecycle data: endoflife.date snapshot %(snapshot)s)"
    if with_note:
        msgid += "; %(note)s"
    if ended:
        msgid += " — already ended, see the supported-OS check"
    return msg(msgid, **{k: v for k, v in params.items() if f"%({k})s" in msgid})


@evaluator("host.os_supported", params=SupportParams)
def os_supported(facts: Facts, params: SupportParams) -> Verdict:
    os = require(facts.os, "os")
    life = match_lifecycle(os)
    snap = _snapshot()
    if life is None:
        return Verdict.not_applicable(
            msg(
                "%(os)s is not in the end-of-servicing table (lifecycle data: endoflife.date snapshot %(snapshot)s)",  # noqa: E501
                os=f"{os.name} {os.version or ''}".strip(),
                snapshot=snap,
            ),
            snapshot_date=snap,
        )
    end = life.eol
    used = "end of servicing"
    if params.count_extended and life.eoes:
        end, used = life.eoes, "end of extended support"
    observed: dict[str, Any] = {
        "product": life.product,
        "cycle": life.cycle,
        "end_of_servicing": life.eol.isoformat() if life.eol else None,
        "end_of_extended_support": life.eoes.isoformat() if life.eoes else None,
        "snapshot_date": snap,
    }
    note = life.assumption
    if end is None:
        return Verdict.passed(
            msg(
                "%(label)s: no end date published (lifecycle data: endoflife.date snapshot %(snapshot)s); %(note)s",  # noqa: E501
                label=life.label,
                snapshot=snap,
                note=note,
            )
            if note
            else msg(
                "%(label)s: no end date published (lifecycle data: endoflife.date snapshot %(snapshot)s)",
                label=life.label,
                snapshot=snap,
            ),
            **observed,
        )
    today = now().date()
    days_left = (end - today).days
    observed["days_left"] = days_left
    esu = life.eoes.isoformat() if life.eoes and used != "end of extended support" else ""
    facts_ = {
        "label": life.label,
        "extended": used != "end of servicing",
        "end": end.isoformat(),
        "snapshot": snap,
        "note": note,
    }
    if days_left < 0:
        if params.within_days is not None:
            return Verdict.not_applicable(
                _lifecycle_message(True, esu, note, True, days=-days_left, esu=esu, **facts_), **observed
            )
        return Verdict.failed(
            _lifecycle_message(True, esu, note, False, days=-days_left, esu=esu, **facts_), **observed
        )
    text = _lifecycle_message(False, "", note, False, days=days_left, **facts_)
    return Verdict.fail_if(
        params.within_days is not None and days_left <= params.within_days, text, **observed
    )


# ---- Windows 11 eligibility -------------------------------------------------------------------


def cpu_generation(model: str) -> tuple[str | None, int | None]:
    """(vendor, generation) read from a CPU model string: Intel Core generation, AMD Ryzen series.

    ``Intel(R) Core(TM) i5-8250U`` -> ("intel", 8); ``i7-1165G7`` -> ("intel", 11);
    ``Core Ultra 7 155H`` -> ("intel", 14); ``AMD Ryzen 5 3500U`` -> ("amd", 3000). Unknown -> None.
    """
    m = model.lower()
    # AMD first: "Eight-Core Processor" would otherwise read as an Intel Core.
    if "amd" in m or "ryzen" in m:
        if re.search(r"ryzen\s+(ai\b|z\d)", m):
            return "amd", 9000
        hit = re.search(r"ryzen\s+(?:threadripper\s+)?(?:pro\s+)?\d?\s*(?:pro\s+)?(\d)(\d{3})", m)
        if hit:
            return "amd", int(hit.group(1)) * 1000
        return "amd", None
    if "intel" in m or re.search(r"\bcore\b", m):
        if "core(tm) ultra" in m or "core ultra" in m:
            return "intel", 14
        hit = re.search(r"\bi[3579]-(\d{3,5})", m)
        if hit:
            digits = hit.group(1)
            if len(digits) == 5:
                return "intel", int(digits[:2])
            if len(digits) == 4:
                return "intel", int(digits[:2]) if digits[0] == "1" else int(digits[0])
            return "intel", 1  # i7-920, i5-750: first generation
        hit = re.search(r"\bcore\(tm\) ([3579]) (\d{3})", m) or re.search(r"\bcore ([3579]) (\d{3})", m)
        if hit:  # Core 3/5/7 100U (Raptor Lake refresh, 2024)
            return "intel", 13
        return "intel", None
    return None, None


class Win11Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_ram_gb: float = Field(default=4, gt=0)
    min_storage_gb: float = Field(default=64, gt=0)
    intel_min_generation: int = Field(default=8, ge=1)
    amd_min_series: int = Field(default=2000, ge=1000)


def _is_windows10(os: OsFacts) -> bool:
    if os.family.lower() != "windows" or "server" in os.name.lower():
        return False
    if "windows 10" in os.name.lower():
        return True
    if "windows 11" in os.name.lower():
        return False
    build = _windows_build(os)
    return build is not None and 10240 <= build < 22000


def _system_disk_bytes(facts: Facts) -> int | None:
    disks = facts.disks or []
    sized = [d for d in disks if d.size_bytes]
    system = [d for d in sized if d.system_disk]
    if system:
        return system[0].size_bytes
    if sized:
        return max(d.size_bytes or 0 for d in sized if not d.removable)
    return None


@evaluator("host.windows11_eligible", params=Win11Params)
def windows11_eligible(facts: Facts, params: Win11Params) -> Verdict:
    os = require(facts.os, "os")
    if not _is_windows10(os):
        return Verdict.not_applicable(msg("not a Windows 10 PC (%(os)s)", os=os.name))
    sec = facts.security
    parts: list[tuple[str, bool | None]] = []

    tpm = sec.tpm if sec else None
    if tpm is None or tpm.present is None:
        parts.append((term("TPM 2.0: unknown"), None))
    elif not tpm.present:
        parts.append((term("TPM: none"), False))
    elif tpm.version is None:
        parts.append((term("TPM present, version unknown"), None))
    else:
        parts.append((f"TPM {tpm.version}", tpm.version.strip().startswith("2")))

    boot = sec.boot if sec else None
    if boot is None or (boot.uefi is None and boot.secure_boot is None):
        parts.append((term("Secure Boot: unknown"), None))
    elif boot.secure_boot:
        parts.append((term("Secure Boot on"), True))
    elif boot.uefi:
        parts.append((term("UEFI, Secure Boot capable (off)"), True))
    else:
        parts.append((term("legacy BIOS: no Secure Boot"), False))

    cpu = facts.cpu.model if facts.cpu and facts.cpu.model else None
    if cpu is None:
        parts.append((term("CPU: unknown"), None))
    else:
        vendor, gen = cpu_generation(cpu)
        if vendor == "intel" and gen is not None:
            label = term("CPU %(cpu)s (Intel gen %(gen)s)", cpu=cpu.strip(), gen=gen)
            parts.append((label, gen >= params.intel_min_generation))
        elif vendor == "amd" and gen is not None:
            label = term("CPU %(cpu)s (Ryzen %(gen)s series)", cpu=cpu.strip(), gen=gen)
            parts.append((label, gen >= params.amd_min_series))
        else:
            parts.append((term("CPU %(cpu)s: generation unknown", cpu=cpu.strip()), None))

    if facts.memory is None:
        parts.append((term("RAM: unknown"), None))
    else:
        gb = facts.memory.total_bytes / GIB
        # The OS reports a little less than the installed memory (firmware and GPU reserve some).
        ram_ok = facts.memory.total_bytes >= params.min_ram_gb * GIB * 0.9
        parts.append((term("RAM %(gb)s GB", gb=f"{gb:.1f}"), ram_ok))

    size = _system_disk_bytes(facts)
    if size is None:
        parts.append((term("storage: unknown"), None))
    else:
        # Disk vendors count decimal gigabytes.
        parts.append(
            (term("storage %(gb)s GB", gb=f"{size / 1e9:.0f}"), size >= params.min_storage_gb * 1e9 * 0.95)
        )

    observed = {"criteria": {label: ok for label, ok in parts}}
    blockers = [label for label, ok in parts if ok is False]
    unknown = [label for label, ok in parts if ok is None]
    if blockers:
        return Verdict.failed(
            msg("not eligible for Windows 11: %(criteria)s", criteria="; ".join(blockers)), **observed
        )
    if unknown:
        if len(unknown) == len(parts):
            raise MissingFact("TPM, Secure Boot, CPU, RAM and storage facts")
        return Verdict.not_applicable(
            msg("cannot tell Windows 11 eligibility: %(criteria)s", criteria="; ".join(unknown)), **observed
        )
    return Verdict.passed(
        msg("meets Windows 11 requirements: %(criteria)s", criteria="; ".join(label for label, _ in parts)),
        **observed,
    )
