"""Certificates, TLS services and signed documents: one verdict per certificate, endpoint or signature.

Targets: a signing certificate is ``"<CN> [<first 16 hex of SHA-256>]"`` (stable: the name is part of
the certificate), a TLS service is its configured target, a signature is ``"<path>#<field>"``. Expiry
windows raise the severity of one result (``Verdict.severity``) as the date comes closer.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from checks.evaluators._util import aware
from checks.model import Severity, Verdict, evaluator, now
from checks.runner import MissingFact
from inventory.certs import (
    CertificateFacts,
    DocumentStatus,
    FoundCertificate,
    RevocationState,
    SignedDocumentResult,
    TlsEndpointResult,
)
from inventory.facts import Facts
from inventory.report import CheckStatus


def _section(facts: Facts) -> CertificateFacts:
    if facts.certificates is None:
        raise MissingFact("certificates")
    return facts.certificates


def cert_target(c: FoundCertificate) -> str:
    return f"{c.subject_cn or c.subject} [{c.sha256[:16]}]"


def signing_certificates(facts: Facts) -> list[tuple[FoundCertificate, list[str]]]:
    """Validated signing certificates, once per fingerprint, with every place each was found."""
    seen: dict[str, tuple[FoundCertificate, list[str]]] = {}
    for c in _section(facts).certificates:
        if c.validation is None:
            continue
        where = c.location.path + (f" ({c.location.label})" if c.location.label else "")
        if c.sha256 in seen:
            seen[c.sha256][1].append(where)
        else:
            seen[c.sha256] = (c, [where])
    return list(seen.values())


def _days_left(not_after: datetime) -> int:
    return math.floor((aware(not_after) - now()).total_seconds() / 86400)


def _none(what: str) -> list[Verdict]:
    return [Verdict.not_applicable(what)]


def _per_signing(facts: Facts, judge: Callable[[FoundCertificate], Verdict]) -> list[Verdict]:
    certs = signing_certificates(facts)
    if not certs:
        return _none("no signing certificate found on this PC")
    out = []
    for c, places in certs:
        v: Verdict = judge(c)
        where = "; ".join(places[:3]) + (f" and {len(places) - 3} more" if len(places) > 3 else "")
        out.append(
            Verdict(
                v.status,
                f"{v.evidence} — {where}"[:4000],
                {**v.observed, "sha256": c.sha256},
                target=cert_target(c),
                severity=v.severity,
            )
        )
    return out


# ---- Signing certificates ----------------------------------------------------------------------


@evaluator("certs.signing_validity")
def signing_validity(facts: Facts, params: object) -> list[Verdict]:
    def judge(c: FoundCertificate) -> Verdict:
        t = now()
        if aware(c.not_after) < t:
            return Verdict.failed(f"expired on {c.not_after:%Y-%m-%d}", not_after=c.not_after.isoformat())
        if aware(c.not_before) > t:
            return Verdict.failed(
                f"not valid before {c.not_before:%Y-%m-%d}", not_before=c.not_before.isoformat()
            )
        return Verdict.passed(f"valid until {c.not_after:%Y-%m-%d}", not_after=c.not_after.isoformat())

    return _per_signing(facts, judge)


class Window(BaseModel):
    model_config = ConfigDict(extra="forbid")
    days: int = Field(ge=1)
    severity: Severity


class ExpiryParams(BaseModel):
    """Fail within the widest window; the narrowest window reached sets the result's severity."""

    model_config = ConfigDict(extra="forbid")
    windows: list[Window] = Field(min_length=1)

    @model_validator(mode="after")
    def _sorted(self) -> ExpiryParams:
        self.windows = sorted(self.windows, key=lambda w: w.days, reverse=True)
        return self

    def severity_for(self, days_left: int) -> Severity | None:
        hit = None
        for w in self.windows:
            if days_left <= w.days:
                hit = w.severity
        return hit


def _expiry_verdict(not_after: datetime, params: ExpiryParams, what: str) -> Verdict:
    left = _days_left(not_after)
    if left < 0:
        return Verdict.not_applicable(f"{what} already expired on {not_after:%Y-%m-%d}", days_left=left)
    sev = params.severity_for(left)
    text = f"{what} expires on {not_after:%Y-%m-%d}, in {left} days"
    if sev is None:
        return Verdict.passed(text, days_left=left)
    return Verdict(CheckStatus.FAIL, text, {"days_left": left}, severity=sev)


@evaluator("certs.signing_expiring", params=ExpiryParams)
def signing_expiring(facts: Facts, params: ExpiryParams) -> list[Verdict]:
    return _per_signing(facts, lambda c: _expiry_verdict(c.not_after, params, "signing certificate"))


@evaluator("certs.signing_revocation")
def signing_revocation(facts: Facts, params: object) -> list[Verdict]:
    def judge(c: FoundCertificate) -> Verdict:
        v = c.validation
        assert v is not None
        if v.revocation is RevocationState.REVOKED:
            when = f" on {v.revoked_at:%Y-%m-%d}" if v.revoked_at else ""
            why = f" ({v.revocation_reason})" if v.revocation_reason else ""
            return Verdict.failed(
                f"revoked{when}{why}", revoked_at=v.revoked_at.isoformat() if v.revoked_at else None
            )
        if v.revocation is RevocationState.GOOD:
            return Verdict.passed("not revoked (CRL/OCSP checked)")
        return Verdict.not_applicable(f"revocation {v.revocation.value.replace('_', ' ')}")

    return _per_signing(facts, judge)


@evaluator("certs.signing_revocation_known")
def signing_revocation_known(facts: Facts, params: object) -> list[Verdict]:
    def judge(c: FoundCertificate) -> Verdict:
        v = c.validation
        assert v is not None
        if v.revocation is RevocationState.UNKNOWN:
            why = next((r for r in v.reasons if "revocation" in r.lower()), "no CRL or OCSP answer")
            return Verdict.failed(f"revocation status unknown: {why}")
        if v.revocation is RevocationState.NOT_CHECKED:
            return Verdict.not_applicable("revocation not reached (see the certificate's other results)")
        return Verdict.passed(f"revocation status known ({v.revocation.value})")

    return _per_signing(facts, judge)


@evaluator("certs.signing_trusted")
def signing_trusted(facts: Facts, params: object) -> list[Verdict]:
    def judge(c: FoundCertificate) -> Verdict:
        v = c.validation
        assert v is not None
        if v.trusted is True:
            return Verdict.passed(f"chain verifies to a trusted root (issuer {c.issuer_cn or c.issuer})")
        if v.trusted is False and v.revocation is not RevocationState.REVOKED:
            why = next(
                (r for r in v.reasons if "trust" in r or "issuer" in r or "path" in r), "no trusted path"
            )
            return Verdict.failed(f"untrusted: {why}", issuer=c.issuer)
        return Verdict.not_applicable("trust not established (see the certificate's other results)")

    return _per_signing(facts, judge)


@evaluator("certs.signing_key_usage")
def signing_key_usage(facts: Facts, params: object) -> list[Verdict]:
    def judge(c: FoundCertificate) -> Verdict:
        usage = ", ".join(c.key_usage) or "no key usage extension"
        if c.validation is not None and c.validation.key_usage_ok is False:
            return Verdict.failed(f"key usage ({usage}) does not allow signing", key_usage=c.key_usage)
        return Verdict.passed(f"key usage allows signing ({usage})", key_usage=c.key_usage)

    return _per_signing(facts, judge)


class KeySizeParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scope: Literal["signing", "tls"]
    min_rsa_bits: int = Field(default=2048, ge=512)
    min_ec_bits: int = Field(default=256, ge=160)


def _key_verdict(c: FoundCertificate, params: KeySizeParams) -> Verdict:
    size = c.key_size
    desc = f"{c.key_type.upper()} {size or '?'} bits"
    if size is None:
        return Verdict.not_applicable(f"key size unknown ({c.key_type})")
    if c.key_type in ("rsa", "dsa") and size < params.min_rsa_bits:
        return Verdict.failed(f"{desc}, below {params.min_rsa_bits}", key_type=c.key_type, key_size=size)
    if c.key_type == "ec" and size < params.min_ec_bits:
        return Verdict.failed(f"{desc}, below {params.min_ec_bits}", key_type=c.key_type, key_size=size)
    return Verdict.passed(desc, key_type=c.key_type, key_size=size)


def _sha1_verdict(c: FoundCertificate, chain_sha1: bool, legacy: bool) -> Verdict:
    if c.signature_hash == "sha1" or chain_sha1:
        where = "certificate" if c.signature_hash == "sha1" else "certificate chain"
        note = " (accepted only in legacy mode)" if legacy else ""
        return Verdict.failed(f"{where} signed with SHA-1{note}", signature_algorithm=c.signature_algorithm)
    return Verdict.passed(f"signed with {c.signature_algorithm}", signature_algorithm=c.signature_algorithm)


def _per_tls(
    facts: Facts, judge: Callable[[TlsEndpointResult], Verdict], *, https_only: bool = False
) -> list[Verdict]:
    endpoints = _section(facts).tls_endpoints
    if not endpoints:
        return _none("no TLS endpoint configured")
    out = []
    for e in endpoints:
        if https_only and e.scheme != "https":
            v = Verdict.not_applicable("not an HTTPS service")
        elif not e.reachable and judge is not _reachable_judge:
            v = Verdict.not_applicable(f"not reachable: {e.error or 'no answer'}")
        else:
            v = judge(e)
        out.append(
            Verdict(v.status, v.message or v.evidence, v.observed, target=e.target, severity=v.severity)
        )
    return out


@evaluator("certs.key_size", params=KeySizeParams)
def key_size(facts: Facts, params: KeySizeParams) -> list[Verdict]:
    if params.scope == "signing":
        return _per_signing(facts, lambda c: _key_verdict(c, params))
    return _per_tls(
        facts, lambda e: _key_verdict(e.leaf, params) if e.leaf else Verdict.not_applicable("no certificate")
    )


class ScopeParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scope: Literal["signing", "tls"]


@evaluator("certs.sha1", params=ScopeParams)
def sha1(facts: Facts, params: ScopeParams) -> list[Verdict]:
    if params.scope == "signing":
        return _per_signing(
            facts,
            lambda c: _sha1_verdict(
                c, bool(c.validation and c.validation.sha1), bool(c.validation and c.validation.legacy_sha1)
            ),
        )
    return _per_tls(
        facts,
        lambda e: _sha1_verdict(e.leaf, False, False) if e.leaf else Verdict.not_applicable("no certificate"),
    )


# ---- TLS services ------------------------------------------------------------------------------


def _reachable_judge(e: TlsEndpointResult) -> Verdict:
    if e.reachable:
        return Verdict.passed(f"answers TLS ({e.protocol or 'TLS'})", protocol=e.protocol)
    return Verdict.failed(f"not reachable: {e.error or 'no answer'}")


@evaluator("certs.tls_reachable")
def tls_reachable(facts: Facts, params: object) -> list[Verdict]:
    return _per_tls(facts, _reachable_judge)


@evaluator("certs.tls_validity")
def tls_validity(facts: Facts, params: object) -> list[Verdict]:
    def judge(e: TlsEndpointResult) -> Verdict:
        if e.leaf is None:
            return Verdict.not_applicable("no certificate received")
        t = now()
        if aware(e.leaf.not_after) < t:
            return Verdict.failed(f"certificate expired on {e.leaf.not_after:%Y-%m-%d}")
        if aware(e.leaf.not_before) > t:
            return Verdict.failed(f"certificate not valid before {e.leaf.not_before:%Y-%m-%d}")
        return Verdict.passed(f"certificate valid until {e.leaf.not_after:%Y-%m-%d}")

    return _per_tls(facts, judge)


@evaluator("certs.tls_expiring", params=ExpiryParams)
def tls_expiring(facts: Facts, params: ExpiryParams) -> list[Verdict]:
    return _per_tls(
        facts,
        lambda e: (
            _expiry_verdict(e.leaf.not_after, params, "TLS certificate")
            if e.leaf
            else Verdict.not_applicable("no certificate received")
        ),
    )


@evaluator("certs.tls_trusted")
def tls_trusted(facts: Facts, params: object) -> list[Verdict]:
    def judge(e: TlsEndpointResult) -> Verdict:
        problems = []
        if e.verified is False:
            problems.append(f"chain does not verify: {e.verify_error or 'unknown error'}")
        if e.chain_complete is False:
            problems.append(f"chain incomplete as sent ({len(e.chain_sent_sha256)} certificate(s) sent)")
        if problems:
            return Verdict.failed(
                "; ".join(problems), verify_error=e.verify_error, chain_complete=e.chain_complete
            )
        if e.verified is None:
            return Verdict.not_applicable("chain not verified")
        return Verdict.passed("chain verifies to a trusted root and is complete as sent")

    return _per_tls(facts, judge)


@evaluator("certs.tls_hostname")
def tls_hostname(facts: Facts, params: object) -> list[Verdict]:
    def judge(e: TlsEndpointResult) -> Verdict:
        if e.hostname_matches is None:
            return Verdict.not_applicable("no certificate received")
        if e.hostname_matches:
            return Verdict.passed(f"certificate names {e.host}")
        cn = e.leaf.subject_cn if e.leaf else "?"
        return Verdict.failed(f"certificate does not name {e.host} (issued to {cn})")

    return _per_tls(facts, judge)


@evaluator("certs.tls_legacy_protocols")
def tls_legacy_protocols(facts: Facts, params: object) -> list[Verdict]:
    def judge(e: TlsEndpointResult) -> Verdict:
        accepted = [n for n, v in (("TLS 1.0", e.tls10_accepted), ("TLS 1.1", e.tls11_accepted)) if v]
        if accepted:
            return Verdict.failed(f"accepts {' and '.join(accepted)}", accepted=accepted)
        if e.tls10_accepted is None and e.tls11_accepted is None:
            return Verdict.not_applicable("this PC's TLS library cannot offer TLS 1.0/1.1, so not tested")
        return Verdict.passed("refuses TLS 1.0 and 1.1")

    return _per_tls(facts, judge)


@evaluator("certs.tls_hsts")
def tls_hsts(facts: Facts, params: object) -> list[Verdict]:
    def judge(e: TlsEndpointResult) -> Verdict:
        if e.hsts is None:
            return Verdict.not_applicable("no HTTP answer to look for HSTS")
        if e.hsts:
            return Verdict.passed(f"Strict-Transport-Security: {e.hsts_header}")
        return Verdict.failed("no Strict-Transport-Security header")

    return _per_tls(facts, judge, https_only=True)


# ---- Signed documents --------------------------------------------------------------------------


class DocumentParams(BaseModel):
    """Which aspect of each signature this check judges."""

    model_config = ConfigDict(extra="forbid")
    aspect: Literal["integrity", "signed_while_valid", "revocation", "trust", "revocation_status"]


def doc_target(d: SignedDocumentResult) -> str:
    return f"{d.path}#{d.signature}"[-500:]


def _doc_verdict(d: SignedDocumentResult, aspect: str) -> Verdict:
    who = f" (signer {d.signer_subject})" if d.signer_subject else ""
    reasons = "; ".join(d.reasons)
    if aspect == "integrity":
        if d.intact is None:
            return Verdict.not_applicable("signature could not be read")
        if not d.intact or not d.valid or d.modified_after_signing:
            return Verdict.failed(f"signature invalid{who}: {reasons}", intact=d.intact, valid=d.valid)
        return Verdict.passed(f"signature intact and valid{who}")
    if aspect == "signed_while_valid":
        if d.signed_while_valid is None:
            return Verdict.not_applicable("signing time unknown")
        when = f"{d.signing_time:%Y-%m-%d}" if d.signing_time else "?"
        if not d.signed_while_valid:
            until = f"{d.signer_not_after:%Y-%m-%d}" if d.signer_not_after else "?"
            return Verdict.failed(f"signed {when}, outside the certificate's validity (until {until}){who}")
        return Verdict.passed(f"signed {when} while the certificate was valid ({d.signing_time_source})")
    if aspect == "revocation":
        if d.revoked:
            when = f" on {d.revoked_at:%Y-%m-%d}" if d.revoked_at else ""
            before = ", before signing" if d.revoked_before_signing else ""
            return Verdict.failed(f"signer certificate revoked{when}{before}{who}")
        if d.revoked is None or d.revocation_unknown:
            return Verdict.not_applicable("revocation not established")
        return Verdict.passed(f"signer certificate not revoked{who}")
    if aspect == "trust":
        if d.trusted:
            return Verdict.passed(f"signer trusted{who}")
        if d.status is DocumentStatus.UNTRUSTED:
            return Verdict.failed(f"signer not trusted{who}: {reasons}")
        return Verdict.not_applicable(f"trust not established ({d.status.value.replace('_', ' ')})")
    if d.revocation_unknown:
        return Verdict.failed(f"revocation status of the signer unknown{who}")
    return Verdict.passed("revocation status known")


@evaluator("certs.document_signature", params=DocumentParams)
def document_signature(facts: Facts, params: DocumentParams) -> list[Verdict]:
    docs = _section(facts).documents
    if not docs:
        return _none("no signed document found in the configured folders")
    out = []
    for d in docs:
        if d.status is DocumentStatus.ERROR:
            v = Verdict(CheckStatus.ERROR, f"cannot check: {d.error or 'unknown error'}")
        else:
            v = _doc_verdict(d, params.aspect)
        out.append(
            Verdict(
                v.status, v.evidence[:4000], {**v.observed, "status": d.status.value}, target=doc_target(d)
            )
        )
    return out
