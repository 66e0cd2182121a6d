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
from checks.model import Severity, Verdict, evaluator, msg, now, term
from checks.runner import MissingFact
from inventory.certificates.facts import (
    CertificateFacts,
    DocumentStatus,
    FoundCertificate,
    RevocationState,
    SignedDocumentResult,
    TlsEndpointResult,
)
from inventory.facts import Facts
from inventory.report import CheckStatus, EvidenceMessage, MessageParam


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


def _none(what: EvidenceMessage) -> list[Verdict]:
    return [Verdict.not_applicable(what)]


def _say(*pieces: str | None, **params: MessageParam) -> EvidenceMessage:
    """A sentence of fixed pieces, some optional (None when absent): every combination of pieces is a
    msgid of checks/locales/vi/evidence.po; only the parameters the sentence names are kept."""
    msgid = "".join(p for p in pieces if p)
    return msg(msgid, **{k: v for k, v in params.items() if f"%({k})s" in msgid})


def _with_places(v: Verdict, where: str) -> EvidenceMessage | str:
    """The judge's sentence followed by where the certificate was found (one msgid per sentence)."""
    if v.message is None:
        return f"{v.evidence} — {where}"[:4000]
    msgid = v.message.id + " — %(places)s"
    return msg(msgid, **{**v.message.params, "places": where[:3000]})


def _per_signing(facts: Facts, judge: Callable[[FoundCertificate], Verdict]) -> list[Verdict]:
    certs = signing_certificates(facts)
    if not certs:
        return _none(msg("no signing certificate found on this PC"))
    out = []
    for c, places in certs:
        v: Verdict = judge(c)
        where = "; ".join(places[:3]) + (f" and {len(places) - 3} more" if len(places) > 3 else "")
        out.append(
            Verdict(
                v.status,
                _with_places(v, where),
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
            return Verdict.failed(
                msg("expired on %(date)s", date=f"{c.not_after:%Y-%m-%d}"), not_after=c.not_after.isoformat()
            )
        if aware(c.not_before) > t:
            return Verdict.failed(
                msg("not valid before %(date)s", date=f"{c.not_before:%Y-%m-%d}"),
                not_before=c.not_before.isoformat(),
            )
        return Verdict.passed(
            msg("valid until %(date)s", date=f"{c.not_after:%Y-%m-%d}"), not_after=c.not_after.isoformat()
        )

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
    # ``what`` is "signing certificate" or "TLS certificate": literal text of the msgid.
    if left < 0:
        return Verdict.not_applicable(
            _say(what, " already expired on %(date)s", date=f"{not_after:%Y-%m-%d}"), days_left=left
        )
    sev = params.severity_for(left)
    text = _say(what, " expires on %(date)s, in %(days)s days", date=f"{not_after:%Y-%m-%d}", days=left)
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
            return Verdict.failed(
                _say(
                    "revoked",
                    " on %(date)s" if v.revoked_at else None,
                    " (%(reason)s)" if v.revocation_reason else None,
                    date=f"{v.revoked_at:%Y-%m-%d}" if v.revoked_at else None,
                    reason=v.revocation_reason,
                ),
                revoked_at=v.revoked_at.isoformat() if v.revoked_at else None,
            )
        if v.revocation is RevocationState.GOOD:
            return Verdict.passed(msg("not revoked (CRL/OCSP checked)"))
        return Verdict.not_applicable(
            msg("revocation %(state)s", state=term(v.revocation.value.replace("_", " ")))
        )

    return _per_signing(facts, judge)


@evaluator("certs.signing_revocation_known")
def signing_revocation_known(facts: Facts, params: object) -> list[Verdict]:
    def judge(c: FoundCertificate) -> Verdict:
        v = c.validation
        assert v is not None
        if v.revocation is RevocationState.UNKNOWN:
            why = next((r for r in v.reasons if "revocation" in r.lower()), term("no CRL or OCSP answer"))
            return Verdict.failed(msg("revocation status unknown: %(why)s", why=why))
        if v.revocation is RevocationState.NOT_CHECKED:
            return Verdict.not_applicable(msg("revocation not reached (see the certificate's other results)"))
        return Verdict.passed(msg("revocation status known (%(state)s)", state=term(v.revocation.value)))

    return _per_signing(facts, judge)


@evaluator("certs.signing_trusted")
def signing_trusted(facts: Facts, params: object) -> list[Verdict]:
    def judge(c: FoundCertificate) -> Verdict:
        v = c.validation
        assert v is not None
        if v.trusted is True:
            return Verdict.passed(
                msg("chain verifies to a trusted root (issuer %(issuer)s)", issuer=c.issuer_cn or c.issuer)
            )
        if v.trusted is False and v.revocation is not RevocationState.REVOKED:
            why = next(
                (r for r in v.reasons if "trust" in r or "issuer" in r or "path" in r),
                term("no trusted path"),
            )
            return Verdict.failed(msg("untrusted: %(why)s", why=why), issuer=c.issuer)
        return Verdict.not_applicable(msg("trust not established (see the certificate's other results)"))

    return _per_signing(facts, judge)


@evaluator("certs.signing_key_usage")
def signing_key_usage(facts: Facts, params: object) -> list[Verdict]:
    def judge(c: FoundCertificate) -> Verdict:
        usage = ", ".join(c.key_usage) or term("no key usage extension")
        if c.validation is not None and c.validation.key_usage_ok is False:
            return Verdict.failed(
                msg("key usage (%(usage)s) does not allow signing", usage=usage), key_usage=c.key_usage
            )
        return Verdict.passed(msg("key usage allows signing (%(usage)s)", usage=usage), key_usage=c.key_usage)

    return _per_signing(facts, judge)


class KeySizeParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scope: Literal["signing", "tls"]
    min_rsa_bits: int = Field(default=2048, ge=512)
    min_ec_bits: int = Field(default=256, ge=160)


def _key_verdict(c: FoundCertificate, params: KeySizeParams) -> Verdict:
    size = c.key_size
    if size is None:
        return Verdict.not_applicable(msg("key size unknown (%(type)s)", type=c.key_type))
    kind = c.key_type.upper()
    if c.key_type in ("rsa", "dsa") and size < params.min_rsa_bits:
        below = msg("%(type)s %(bits)s bits, below %(min)s", type=kind, bits=size, min=params.min_rsa_bits)
        return Verdict.failed(below, key_type=c.key_type, key_size=size)
    if c.key_type == "ec" and size < params.min_ec_bits:
        below = msg("%(type)s %(bits)s bits, below %(min)s", type=kind, bits=size, min=params.min_ec_bits)
        return Verdict.failed(below, key_type=c.key_type, key_size=size)
    return Verdict.passed(
        msg("%(type)s %(bits)s bits", type=kind, bits=size), key_type=c.key_type, key_size=size
    )


def _sha1_verdict(c: FoundCertificate, chain_sha1: bool, legacy: bool) -> Verdict:
    if c.signature_hash == "sha1" or chain_sha1:
        where = "certificate" if c.signature_hash == "sha1" else "certificate chain"
        note = " (accepted only in legacy mode)" if legacy else None
        return Verdict.failed(
            _say(where, " signed with SHA-1", note), signature_algorithm=c.signature_algorithm
        )
    return Verdict.passed(
        msg("signed with %(algorithm)s", algorithm=c.signature_algorithm),
        signature_algorithm=c.signature_algorithm,
    )


def _per_tls(
    facts: Facts, judge: Callable[[TlsEndpointResult], Verdict], *, https_only: bool = False
) -> list[Verdict]:
    endpoints = _section(facts).tls_endpoints
    if not endpoints:
        return _none(msg("no TLS endpoint configured"))
    out = []
    for e in endpoints:
        if https_only and e.scheme != "https":
            v = Verdict.not_applicable(msg("not an HTTPS service"))
        elif not e.reachable and judge is not _reachable_judge:
            v = Verdict.not_applicable(msg("not reachable: %(error)s", error=e.error or term("no answer")))
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
        facts,
        lambda e: _key_verdict(e.leaf, params) if e.leaf else Verdict.not_applicable(msg("no certificate")),
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
        lambda e: (
            _sha1_verdict(e.leaf, False, False) if e.leaf else Verdict.not_applicable(msg("no certificate"))
        ),
    )


# ---- TLS services ------------------------------------------------------------------------------


def _reachable_judge(e: TlsEndpointResult) -> Verdict:
    if e.reachable:
        return Verdict.passed(
            msg("answers TLS (%(protocol)s)", protocol=e.protocol or "TLS"), protocol=e.protocol
        )
    return Verdict.failed(msg("not reachable: %(error)s", error=e.error or term("no answer")))


@evaluator("certs.tls_reachable")
def tls_reachable(facts: Facts, params: object) -> list[Verdict]:
    return _per_tls(facts, _reachable_judge)


@evaluator("certs.tls_validity")
def tls_validity(facts: Facts, params: object) -> list[Verdict]:
    def judge(e: TlsEndpointResult) -> Verdict:
        if e.leaf is None:
            return Verdict.not_applicable(msg("no certificate received"))
        t = now()
        if aware(e.leaf.not_after) < t:
            return Verdict.failed(msg("certificate expired on %(date)s", date=f"{e.leaf.not_after:%Y-%m-%d}"))
        if aware(e.leaf.not_before) > t:
            return Verdict.failed(
                msg("certificate not valid before %(date)s", date=f"{e.leaf.not_before:%Y-%m-%d}")
            )
        return Verdict.passed(msg("certificate valid until %(date)s", date=f"{e.leaf.not_after:%Y-%m-%d}"))

    return _per_tls(facts, judge)


@evaluator("certs.tls_expiring", params=ExpiryParams)
def tls_expiring(facts: Facts, params: ExpiryParams) -> list[Verdict]:
    return _per_tls(
        facts,
        lambda e: (
            _expiry_verdict(e.leaf.not_after, params, "TLS certificate")
            if e.leaf
            else Verdict.not_applicable(msg("no certificate received"))
        ),
    )


@evaluator("certs.tls_trusted")
def tls_trusted(facts: Facts, params: object) -> list[Verdict]:
    def judge(e: TlsEndpointResult) -> Verdict:
        broken, incomplete = e.verified is False, e.chain_complete is False
        if broken or incomplete:
            return Verdict.failed(
                _say(
                    "chain does not verify: %(error)s" if broken else None,
                    "; " if broken and incomplete else None,
                    "chain incomplete as sent (%(n)s certificate(s) sent)" if incomplete else None,
                    error=e.verify_error or term("unknown error"),
                    n=len(e.chain_sent_sha256),
                ),
                verify_error=e.verify_error,
                chain_complete=e.chain_complete,
            )
        if e.verified is None:
            return Verdict.not_applicable(msg("chain not verified"))
        return Verdict.passed(msg("chain verifies to a trusted root and is complete as sent"))

    return _per_tls(facts, judge)


@evaluator("certs.tls_hostname")
def tls_hostname(facts: Facts, params: object) -> list[Verdict]:
    def judge(e: TlsEndpointResult) -> Verdict:
        if e.hostname_matches is None:
            return Verdict.not_applicable(msg("no certificate received"))
        if e.hostname_matches:
            return Verdict.passed(msg("certificate names %(host)s", host=e.host))
        cn = e.leaf.subject_cn if e.leaf else "?"
        return Verdict.failed(
            msg("certificate does not name %(host)s (issued to %(cn)s)", host=e.host, cn=cn)
        )

    return _per_tls(facts, judge)


@evaluator("certs.tls_legacy_protocols")
def tls_legacy_protocols(facts: Facts, params: object) -> list[Verdict]:
    def judge(e: TlsEndpointResult) -> Verdict:
        accepted = [n for n, v in (("TLS 1.0", e.tls10_accepted), ("TLS 1.1", e.tls11_accepted)) if v]
        if accepted:
            return Verdict.failed(
                msg("accepts %(protocols)s", protocols=" and ".join(accepted)), accepted=accepted
            )
        if e.tls10_accepted is None and e.tls11_accepted is None:
            return Verdict.not_applicable(
                msg("this PC's TLS library cannot offer TLS 1.0/1.1, so not tested")
            )
        return Verdict.passed(msg("refuses TLS 1.0 and 1.1"))

    return _per_tls(facts, judge)


@evaluator("certs.tls_hsts")
def tls_hsts(facts: Facts, params: object) -> list[Verdict]:
    def judge(e: TlsEndpointResult) -> Verdict:
        if e.hsts is None:
            return Verdict.not_applicable(msg("no HTTP answer to look for HSTS"))
        if e.hsts:
            return Verdict.passed(msg("Strict-Transport-Security: %(header)s", header=e.hsts_header))
        return Verdict.failed(msg("no Strict-Transport-Security header"))

    return _per_tls(facts, judge, https_only=True)


# ---- Signed documents --------------------------------------------------------------------------


class DocumentParams(BaseModel):
    """Which aspect of each signature this check judges."""

    model_config = ConfigDict(extra="forbid")
    aspect: Literal["integrity", "signed_while_valid", "revocation", "trust", "revocation_status"]


def doc_target(d: SignedDocumentResult) -> str:
    return f"{d.path}#{d.signature}"[-500:]


def _doc_verdict(d: SignedDocumentResult, aspect: str) -> Verdict:
    who = " (signer %(signer)s)" if d.signer_subject else None
    facts_ = {"signer": d.signer_subject, "reasons": "; ".join(d.reasons)}
    if aspect == "integrity":
        if d.intact is None:
            return Verdict.not_applicable(msg("signature could not be read"))
        if not d.intact or not d.valid or d.modified_after_signing:
            return Verdict.failed(
                _say("signature invalid", who, ": %(reasons)s", **facts_), intact=d.intact, valid=d.valid
            )
        return Verdict.passed(_say("signature intact and valid", who, **facts_))
    if aspect == "signed_while_valid":
        if d.signed_while_valid is None:
            return Verdict.not_applicable(msg("signing time unknown"))
        when = f"{d.signing_time:%Y-%m-%d}" if d.signing_time else "?"
        if not d.signed_while_valid:
            until = f"{d.signer_not_after:%Y-%m-%d}" if d.signer_not_after else "?"
            return Verdict.failed(
                _say(
                    "signed %(when)s, outside the certificate's validity (until %(until)s)",
                    who,
                    when=when,
                    until=until,
                    **facts_,
                )
            )
        return Verdict.passed(
            msg(
                "signed %(when)s while the certificate was valid (%(source)s)",
                when=when,
                source=str(d.signing_time_source),
            )
        )
    if aspect == "revocation":
        if d.revoked:
            return Verdict.failed(
                _say(
                    "signer certificate revoked",
                    " on %(date)s" if d.revoked_at else None,
                    ", before signing" if d.revoked_before_signing else None,
                    who,
                    date=f"{d.revoked_at:%Y-%m-%d}" if d.revoked_at else None,
                    **facts_,
                )
            )
        if d.revoked is None or d.revocation_unknown:
            return Verdict.not_applicable(msg("revocation not established"))
        return Verdict.passed(_say("signer certificate not revoked", who, **facts_))
    if aspect == "trust":
        if d.trusted:
            return Verdict.passed(_say("signer trusted", who, **facts_))
        if d.status is DocumentStatus.UNTRUSTED:
            return Verdict.failed(_say("signer not trusted", who, ": %(reasons)s", **facts_))
        return Verdict.not_applicable(
            msg("trust not established (%(status)s)", status=d.status.value.replace("_", " "))
        )
    if d.revocation_unknown:
        return Verdict.failed(_say("revocation status of the signer unknown", who, **facts_))
    return Verdict.passed(msg("revocation status known"))


@evaluator("certs.document_signature", params=DocumentParams)
def document_signature(facts: Facts, params: DocumentParams) -> list[Verdict]:
    docs = _section(facts).documents
    if not docs:
        return _none(msg("no signed document found in the configured folders"))
    out = []
    for d in docs:
        if d.status is DocumentStatus.ERROR:
            v = Verdict(
                CheckStatus.ERROR, msg("cannot check: %(error)s", error=d.error or term("unknown error"))
            )
        else:
            v = _doc_verdict(d, params.aspect)
        out.append(
            Verdict(
                v.status,
                v.message or v.evidence[:4000],
                {**v.observed, "status": d.status.value},
                target=doc_target(d),
            )
        )
    return out
