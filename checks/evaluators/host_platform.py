"""Platform integrity: Secure Boot, TPM."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from checks.evaluators._util import part
from checks.model import Verdict, evaluator, msg
from checks.runner import CannotObserve
from inventory.facts import Facts
from inventory.security import BootFacts, TpmFacts


@evaluator("host.secure_boot")
def secure_boot(facts: Facts, params: object) -> Verdict:
    boot: BootFacts = part(facts, "boot")
    if boot.uefi is False:
        return Verdict.failed(msg("the PC boots in legacy BIOS mode: no Secure Boot"), uefi=False)
    if boot.secure_boot is None:
        raise CannotObserve("security.boot.secure_boot")
    if boot.secure_boot:
        return Verdict.passed(msg("Secure Boot is on"), uefi=boot.uefi)
    return Verdict.failed(msg("UEFI firmware with Secure Boot off"), uefi=boot.uefi)


class TpmParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_major: int = 2


@evaluator("host.tpm_present", params=TpmParams)
def tpm_present(facts: Facts, params: TpmParams) -> Verdict:
    tpm: TpmFacts = part(facts, "tpm")
    if tpm.present is None:
        raise CannotObserve("security.tpm.present")
    if not tpm.present:
        return Verdict.failed(msg("no TPM found (or it is disabled in the firmware)"))
    if tpm.version is None:
        raise CannotObserve("security.tpm.version")
    try:
        major = int(tpm.version.strip().split(".")[0])
    except ValueError:
        raise CannotObserve(f"a readable TPM version (got {tpm.version!r})") from None
    if major < params.min_major:
        return Verdict.failed(
            msg("TPM %(version)s (required %(required)s.0)", version=tpm.version, required=params.min_major),
            version=tpm.version,
        )
    text = (
        msg("TPM %(version)s present", version=tpm.version)
        if tpm.ready is not False
        else msg("TPM %(version)s present (not ready for use)", version=tpm.version)
    )
    return Verdict.passed(text, version=tpm.version)
