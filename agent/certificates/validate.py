"""Signing-certificate validation with pyhanko-certvalidator against pinned trust anchors.

Revocation is checked in hard-fail mode: a certificate that names a CRL distribution point or an OCSP
responder that cannot be reached gets "revocation unknown", never "valid". Key usage must allow
signing (nonRepudiation or digitalSignature). SHA-1 is refused unless legacy mode is on, and is
reported either way.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import (
    DisallowedAlgorithmError,
    ExpiredError,
    InsufficientRevinfoError,
    NotYetValidError,
    PathBuildingError,
    PathValidationError,
    RevokedError,
    ValidationError,
)
from pyhanko_certvalidator.fetchers.api import Fetchers
from pyhanko_certvalidator.policy_decl import DEFAULT_WEAK_HASH_ALGOS, DisallowWeakAlgorithmsPolicy

from agent.certificates.revocation import CachingFetcherBackend, CrlStore
from agent.certificates.trust import TrustSet
from inventory.certificates.facts import CertificateValidation, RevocationState, ValidationStatus
from inventory.certificates.parse import fingerprint, is_self_signed, key_usages, signed_by

SIGNING_KEY_USAGES = frozenset({"digitalSignature", "nonRepudiation"})
# Most serious first: the status shown is the first problem found in this order.
_PRIORITY = [
    ValidationStatus.REVOKED,
    ValidationStatus.EXPIRED,
    ValidationStatus.NOT_YET_VALID,
    ValidationStatus.UNTRUSTED,
    ValidationStatus.REVOCATION_UNKNOWN,
    ValidationStatus.BAD_KEY_USAGE,
    ValidationStatus.WEAK_ALGORITHM,
    ValidationStatus.ERROR,
]


def to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def build_chain(
    cert: x509.Certificate, pool: Iterable[x509.Certificate], anchors: Iterable[x509.Certificate]
) -> tuple[list[x509.Certificate], str]:
    """Walk issuers by name and signature. Returns (chain leaf first, how it ended).

    The ending is "anchor" (reached a pinned anchor), "untrusted_root" (a self-signed certificate
    that is not an anchor), or "missing_issuer" (no certificate we know issued the last one).
    """
    anchor_fps = {fingerprint(a) for a in anchors}
    candidates = [*anchors, *pool]
    chain = [cert]
    current = cert
    for _ in range(10):
        if fingerprint(current) in anchor_fps:
            return chain, "anchor"
        if is_self_signed(current):
            return chain, "untrusted_root"
        issuer = next((c for c in candidates if c.subject == current.issuer and signed_by(current, c)), None)
        if issuer is None:
            return chain, "missing_issuer"
        if any(fingerprint(issuer) == fingerprint(c) for c in chain):
            return chain, "missing_issuer"  # a loop: no sensible path
        chain.append(issuer)
        current = issuer
    return chain, "missing_issuer"


def _cn(name: x509.Name) -> str:
    from cryptography.x509.oid import NameOID

    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else name.rfc4514_string()


class SigningValidator:
    """Validates signing certificates; one instance per collection run (it shares fetchers and CRLs)."""

    def __init__(
        self,
        trust: TrustSet,
        *,
        other_certs: Iterable[x509.Certificate] = (),
        crl_store: CrlStore | None = None,
        legacy_sha1: bool = False,
        fetch_timeout: float = 15.0,
        allow_fetching: bool = True,
        ocsp: bool = True,
    ) -> None:
        self.trust = trust
        self.pool = [*trust.intermediates, *other_certs]
        self.crl_store = crl_store or CrlStore(None)
        self.legacy_sha1 = legacy_sha1
        self.fetch_timeout = fetch_timeout
        self.allow_fetching = allow_fetching
        self.ocsp = ocsp
        self._fetchers: Fetchers | None = None
        weak = DEFAULT_WEAK_HASH_ALGOS - {"sha1"} if legacy_sha1 else DEFAULT_WEAK_HASH_ALGOS
        # RSA size is judged by its own check (RSA < 2048 is high): keep path validation about trust.
        self.policy = DisallowWeakAlgorithmsPolicy(weak_hash_algos=weak, rsa_key_size_threshold=1024)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[SigningValidator]:
        backend = CachingFetcherBackend(
            self.crl_store, per_request_timeout=self.fetch_timeout, ocsp=self.ocsp
        )
        self._fetchers = backend.get_fetchers()
        try:
            yield self
        finally:
            self._fetchers = None
            await backend.close()

    def context(self, *, extra_certs: Iterable[x509.Certificate] = ()) -> ValidationContext:
        fetching = self.allow_fetching and self._fetchers is not None
        return ValidationContext(
            trust_roots=[to_asn1(c) for c in self.trust.anchors],
            other_certs=[to_asn1(c) for c in [*self.pool, *extra_certs]],
            allow_fetching=fetching,
            fetchers=self._fetchers if fetching else None,
            crls=None if fetching else list(self.crl_store.fresh_for_all()),
            revocation_mode="hard-fail",
            algorithm_usage_policy=self.policy,
        )

    async def validate(self, cert: x509.Certificate, *, now: datetime | None = None) -> CertificateValidation:
        now = now or datetime.now(UTC)
        problems: dict[ValidationStatus, list[str]] = {}

        def problem(status: ValidationStatus, reason: str) -> None:
            problems.setdefault(status, []).append(reason)

        chain, ending = build_chain(cert, self.pool, self.trust.anchors)
        sha1 = any(
            c.signature_hash_algorithm is not None and c.signature_hash_algorithm.name == "sha1"
            for c in chain
            if not is_self_signed(c)
        )
        if cert.not_valid_after_utc < now:
            problem(ValidationStatus.EXPIRED, f"expired on {cert.not_valid_after_utc:%Y-%m-%d}")
        if cert.not_valid_before_utc > now:
            problem(ValidationStatus.NOT_YET_VALID, f"not valid before {cert.not_valid_before_utc:%Y-%m-%d}")
        usages = key_usages(cert)
        ku_ok = not usages or bool(SIGNING_KEY_USAGES & set(usages))
        if not ku_ok:
            problem(
                ValidationStatus.BAD_KEY_USAGE,
                f"key usage {', '.join(usages)} allows neither nonRepudiation nor digitalSignature",
            )
        trusted: bool | None = None
        revocation = RevocationState.NOT_CHECKED
        revoked_at: datetime | None = None
        revocation_reason: str | None = None
        validator = CertificateValidator(to_asn1(cert), validation_context=self.context())
        try:
            await asyncio.wait_for(validator.async_validate_path(), timeout=self.fetch_timeout * 4)
            trusted = True
            revocation = RevocationState.GOOD
        except RevokedError as exc:
            trusted = False
            revocation = RevocationState.REVOKED
            revoked_at = exc.revocation_dt
            revocation_reason = exc.reason.human_friendly if exc.reason is not None else None
            problem(ValidationStatus.REVOKED, str(exc))
        except InsufficientRevinfoError as exc:
            trusted = True  # the path itself verified; only its revocation status is unknown
            revocation = RevocationState.UNKNOWN
            problem(ValidationStatus.REVOCATION_UNKNOWN, f"revocation status unknown: {exc}")
        except (ExpiredError, NotYetValidError) as exc:
            if not problems.get(ValidationStatus.EXPIRED) and not problems.get(
                ValidationStatus.NOT_YET_VALID
            ):
                problem(ValidationStatus.EXPIRED, str(exc))  # an intermediate outside its validity
        except DisallowedAlgorithmError as exc:
            if sha1:
                problem(ValidationStatus.WEAK_ALGORITHM, "SHA-1 signature refused (legacy mode is off)")
            else:
                problem(ValidationStatus.WEAK_ALGORITHM, f"algorithm not accepted: {exc}")
        except PathBuildingError as exc:
            trusted = False
            problem(ValidationStatus.UNTRUSTED, self._why_untrusted(chain, ending, exc))
        except PathValidationError as exc:
            trusted = False
            problem(ValidationStatus.UNTRUSTED, f"path does not validate: {exc}")
        except (ValidationError, ValueError) as exc:
            problem(ValidationStatus.ERROR, f"cannot validate: {exc}")
        except TimeoutError:
            revocation = RevocationState.UNKNOWN
            problem(ValidationStatus.REVOCATION_UNKNOWN, "revocation status unknown: timed out")
        if sha1:
            if self.legacy_sha1:
                problems.setdefault(ValidationStatus.WEAK_ALGORITHM, []).append(
                    "SHA-1 signature accepted only because legacy mode is on"
                )
            elif ValidationStatus.WEAK_ALGORITHM not in problems:
                problem(ValidationStatus.WEAK_ALGORITHM, "SHA-1 signature in the chain")
        status = next((s for s in _PRIORITY if s in problems), ValidationStatus.VALID)
        # SHA-1 accepted in legacy mode is reported but does not by itself make the certificate invalid.
        if status is ValidationStatus.WEAK_ALGORITHM and self.legacy_sha1 and trusted:
            status = ValidationStatus.VALID
        reasons = [r for s in _PRIORITY for r in problems.get(s, [])]
        return CertificateValidation(
            status=status,
            reasons=reasons,
            trusted=trusted,
            revocation=revocation,
            revoked_at=revoked_at,
            revocation_reason=revocation_reason,
            key_usage_ok=ku_ok,
            sha1=sha1,
            legacy_sha1=sha1 and self.legacy_sha1,
            anchor_sha256=fingerprint(chain[-1]) if ending == "anchor" else None,
            chain_sha256=[fingerprint(c) for c in chain],
        )

    @staticmethod
    def _why_untrusted(chain: list[x509.Certificate], ending: str, exc: Exception) -> str:
        last = chain[-1]
        if ending == "untrusted_root":
            return f"chain ends at a root that is not trusted: {_cn(last.subject)}"
        if ending == "missing_issuer":
            return f"issuer certificate not found (missing intermediate?): {_cn(last.issuer)}"
        return f"no valid path to a trust anchor: {exc}"

    async def validate_many(self, certs: Iterable[x509.Certificate]) -> dict[str, CertificateValidation]:
        out: dict[str, CertificateValidation] = {}
        for cert in certs:
            fp = fingerprint(cert)
            if fp not in out:
                out[fp] = await self.validate(cert)
        return out
