"""One verdict and its reasons per certificate, TLS service and signature (for the CLI and humans)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from inventory.certificates.facts import (
    CertificateFacts,
    FoundCertificate,
    LocationKind,
    SignedDocumentResult,
    TlsEndpointResult,
)

GOOD = {"valid", "trust_anchor", "ca_certificate"}
MIN_RSA = 2048
# A certificate this close to its end is "expiring", not "valid": renewing one takes paperwork.
EXPIRING_DAYS = 30


def _expiring(verdict: str, days_left: int | None, threshold: int, reasons: list[str]) -> str:
    """``expiring`` (with the days left in the reasons) for a good certificate near its end."""
    if verdict in GOOD and days_left is not None and 0 <= days_left <= threshold:
        reasons.append(f"expires in {days_left} day{'s' if days_left != 1 else ''}")
        return "expiring"
    return verdict


def _weakness(c: FoundCertificate) -> list[str]:
    out = []
    if c.key_type in ("rsa", "dsa") and c.key_size is not None and c.key_size < MIN_RSA:
        out.append(f"{c.key_type.upper()} key of {c.key_size} bits (below {MIN_RSA})")
    if c.signature_hash == "sha1" and not c.self_signed:  # a root's self-signature is never checked
        out.append("signed with SHA-1")
    return out


def certificate_entry(
    c: FoundCertificate, now: datetime, expiring_days: int = EXPIRING_DAYS
) -> dict[str, Any]:
    reasons: list[str] = []
    if c.validation is not None:
        verdict = c.validation.status.value
        reasons += c.validation.reasons
    elif c.location.kind is LocationKind.SYSTEM:
        verdict = "trust_anchor"
    else:
        verdict = "ca_certificate" if c.is_ca else "not_validated"
    if c.validation is None and c.not_after < now:
        verdict = "expired"
        reasons.append(f"expired on {c.not_after:%Y-%m-%d}")
    weak = [w for w in _weakness(c) if not any(w.split()[0] in r for r in reasons)]
    if weak:
        reasons += weak
        if verdict in GOOD:
            verdict = "weak"
    days_left = (c.not_after - now).days
    # Trust anchors are the system's; their expiry is the operating system's business.
    if verdict != "trust_anchor":
        verdict = _expiring(verdict, days_left, expiring_days, reasons)
    place = c.location.path + (f" ({c.location.label})" if c.location.label else "")
    return {
        "kind": "certificate",
        "target": f"{c.subject_cn or c.subject}",
        "verdict": verdict,
        "reasons": reasons,
        "subject": c.subject,
        "issuer": c.issuer,
        "serial": c.serial,
        "not_after": c.not_after.isoformat(),
        "days_left": days_left,
        "sha256": c.sha256,
        "place": place,
        "key": f"{c.key_type} {c.key_size or ''}".strip(),
        "key_on_token": c.key_on_token,
    }


def tls_entry(e: TlsEndpointResult, expiring_days: int = EXPIRING_DAYS) -> dict[str, Any]:
    reasons: list[str] = []
    verdict = "valid"
    if not e.reachable:
        return {
            "kind": "tls",
            "target": e.target,
            "verdict": "unreachable",
            "reasons": [e.error or "no answer"],
        }
    if e.days_to_expiry is not None and e.days_to_expiry < 0:
        verdict = "expired"
        reasons.append(f"certificate expired {-e.days_to_expiry} days ago")
    if e.verified is False:
        verdict = "untrusted" if verdict == "valid" else verdict
        reasons.append(f"chain does not verify: {e.verify_error}")
    if e.chain_complete is False:
        verdict = "untrusted" if verdict == "valid" else verdict
        reasons.append("chain incomplete as sent")
    if e.hostname_matches is False:
        verdict = "hostname_mismatch" if verdict == "valid" else verdict
        reasons.append(f"certificate does not name {e.host}")
    old = [n for n, v in (("TLS 1.0", e.tls10_accepted), ("TLS 1.1", e.tls11_accepted)) if v]
    if old:
        verdict = "weak" if verdict == "valid" else verdict
        reasons.append(f"accepts {' and '.join(old)}")
    if e.leaf is not None:
        weak = _weakness(e.leaf)
        if weak:
            verdict = "weak" if verdict == "valid" else verdict
            reasons += weak
    if e.hsts is False:
        reasons.append("no HSTS header")
    verdict = _expiring(verdict, e.days_to_expiry, expiring_days, reasons)
    return {
        "kind": "tls",
        "target": e.target,
        "verdict": verdict,
        "reasons": reasons,
        "subject": e.leaf.subject if e.leaf else None,
        "not_after": e.leaf.not_after.isoformat() if e.leaf else None,
        "days_left": e.days_to_expiry,
        "protocol": e.protocol,
        "hsts": e.hsts,
        "sha256": e.leaf.sha256 if e.leaf else None,
    }


def document_entry(d: SignedDocumentResult) -> dict[str, Any]:
    return {
        "kind": "signature",
        "target": f"{d.path}#{d.signature}",
        "verdict": d.status.value,
        "reasons": list(d.reasons) or ([d.error] if d.error else []),
        "subject": d.signer_subject,
        "signing_time": d.signing_time.isoformat() if d.signing_time else None,
        "timestamp": d.timestamp_present,
        "sha256": d.signer_sha256,
    }


def entries(
    facts: CertificateFacts, now: datetime | None = None, *, expiring_days: int = EXPIRING_DAYS
) -> list[dict[str, Any]]:
    now = now or datetime.now(UTC)
    out = [certificate_entry(c, now, expiring_days) for c in facts.certificates]
    out += [tls_entry(e, expiring_days) for e in facts.tls_endpoints]
    out += [document_entry(d) for d in facts.documents]
    return out
