"""Disks: free space on each fixed filesystem, encryption of the system disk."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from checks.evaluators._util import GIB, part
from checks.model import Verdict, evaluator, msg, term
from checks.runner import CannotObserve, MissingFact, require
from inventory.facts import Facts
from inventory.security import EncryptionFacts

# Read-only or in-memory filesystems are always "full" and say nothing about the disk.
SKIP_FSTYPES = {"squashfs", "iso9660", "udf", "tmpfs", "devtmpfs", "overlay", "ramfs", "erofs", "cdfs"}


class FreeParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_used_percent: float = Field(default=90, gt=0, le=100)
    min_total_gb: float = Field(default=1, ge=0)


@evaluator("host.disk_free", params=FreeParams)
def disk_free(facts: Facts, params: FreeParams) -> list[Verdict]:
    filesystems = require(facts.filesystems, "filesystems")
    out: list[Verdict] = []
    for fs in filesystems:
        if (fs.fstype or "").lower() in SKIP_FSTYPES or fs.total_bytes < params.min_total_gb * GIB:
            continue
        used = 100.0 * fs.used_bytes / fs.total_bytes if fs.total_bytes else 0.0
        text = msg(
            "%(mount)s: %(used)s%% used, %(free)s GB free of %(total)s GB (limit %(limit)s%%)",
            mount=fs.mountpoint,
            used=round(used),
            free=round(fs.free_bytes / GIB, 1),
            total=round(fs.total_bytes / GIB, 1),
            limit=round(params.max_used_percent),
        )
        observed = {"used_percent": round(used, 1), "free_bytes": fs.free_bytes}
        v = (
            Verdict.failed(text, **observed)
            if used > params.max_used_percent
            else Verdict.passed(text, **observed)
        )
        out.append(Verdict(v.status, v.message or v.evidence, v.observed, target=fs.mountpoint))
    if not out:
        raise MissingFact("a fixed filesystem")
    return out


@evaluator("host.system_disk_encrypted")
def system_disk_encrypted(facts: Facts, params: object) -> Verdict:
    enc: EncryptionFacts = part(facts, "encryption")
    if enc.system_encrypted is None:
        raise CannotObserve("security.encryption.system_encrypted")
    system = [v for v in enc.volumes if v.system]
    desc = ", ".join(
        f"{v.name}: {v.method or ('encrypted' if v.encrypted else 'not encrypted')}" for v in system
    )
    product = enc.product or term("disk encryption")
    if enc.system_encrypted:
        off = [v.name for v in system if v.protection_on is False]
        if off:
            return Verdict.failed(
                msg(
                    "%(product)s: protection suspended on %(volumes)s (%(desc)s)",
                    product=product,
                    volumes=off,
                    desc=desc,
                )
                if desc
                else msg("%(product)s: protection suspended on %(volumes)s", product=product, volumes=off)
            )
        return Verdict.passed(
            msg("the system disk is encrypted (%(desc)s)", desc=desc)
            if desc
            else msg("the system disk is encrypted"),
            product=enc.product,
        )
    return Verdict.failed(
        msg("the system disk is not encrypted (%(desc)s)", desc=desc)
        if desc
        else msg("the system disk is not encrypted"),
        product=enc.product,
    )
