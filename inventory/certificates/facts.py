"""Certificates found on the host, TLS endpoints checked, signed documents verified.

The agent's certs module fills this section; the checks in ``checks/catalog/certificates.yaml`` judge
it and the collector keeps an inventory and an expiry calendar from it. Every field has a default so
that an older agent's report still validates. Nothing here changes from one cycle to the next unless
the certificates do (no "checked at" timestamps), so an unchanged section travels as its hash.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import Field

from inventory.base import FactModel


class LocationKind(StrEnum):
    FILE = "file"  # a configured file or a file in a configured folder
    SYSTEM = "system"  # the operating system's trust store (anchors, not signing certificates)
    NSS = "nss"  # an NSS database (Firefox, Chromium on Linux)
    PKCS11 = "pkcs11"  # a token read through a PKCS#11 module
    WINDOWS = "windows"  # a Windows certificate store (MY, CA, ROOT)
    TLS = "tls"  # sent by a TLS server
    DOCUMENT = "document"  # embedded in a signed document


class CertLocation(FactModel):
    kind: LocationKind
    path: str  # file path, "CurrentUser\\MY", NSS database folder, PKCS#11 token label
    label: str | None = None  # nickname, PKCS#12 friendly name, token object label


class ValidationStatus(StrEnum):
    """The bottom line for one signing certificate, most serious problem first."""

    VALID = "valid"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    REVOKED = "revoked"
    UNTRUSTED = "untrusted"  # no path to a pinned or configured trust anchor
    REVOCATION_UNKNOWN = "revocation_unknown"  # a CRL/OCSP could not be obtained (hard-fail)
    BAD_KEY_USAGE = "bad_key_usage"  # key usage allows neither nonRepudiation nor digitalSignature
    WEAK_ALGORITHM = "weak_algorithm"  # e.g. SHA-1 outside legacy mode
    ERROR = "error"


class RevocationState(StrEnum):
    GOOD = "good"
    REVOKED = "revoked"
    UNKNOWN = "unknown"
    NOT_CHECKED = "not_checked"  # the path could not be built, so revocation was not reached


class CertificateValidation(FactModel):
    status: ValidationStatus
    reasons: list[str] = Field(default_factory=list)
    trusted: bool | None = None  # a path to a trust anchor was built and verified
    revocation: RevocationState = RevocationState.NOT_CHECKED
    revoked_at: datetime | None = None
    revocation_reason: str | None = None
    key_usage_ok: bool | None = None
    sha1: bool = False  # the certificate (or its chain) is signed with SHA-1
    legacy_sha1: bool = False  # SHA-1 was accepted only because legacy mode is on
    anchor_sha256: str | None = None  # the trust anchor the path ends at
    chain_sha256: list[str] = Field(default_factory=list)  # leaf first


class FoundCertificate(FactModel):
    """One certificate at one place. The same certificate in two places is two entries."""

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    subject: str
    subject_cn: str | None = None
    issuer: str
    issuer_cn: str | None = None
    serial: str  # upper-case hex
    not_before: datetime
    not_after: datetime
    key_type: str  # rsa, ec, ed25519, ed448, dsa, unknown
    key_size: int | None = None
    curve: str | None = None
    signature_algorithm: str  # e.g. sha256WithRSAEncryption
    signature_hash: str | None = None  # sha1, sha256, ... (None for ed25519)
    key_usage: list[str] = Field(default_factory=list)  # digital_signature, content_commitment, ...
    extended_key_usage: list[str] = Field(default_factory=list)  # names where known, else dotted OIDs
    is_ca: bool = False
    self_signed: bool = False
    location: CertLocation
    has_private_key: bool | None = None
    key_on_token: bool | None = None  # the private key lives on a hardware token (USB token, smart card)
    key_provider: str | None = None  # CSP/KSP name on Windows, token label for PKCS#11
    # Present for signing certificates (end-entity certificates outside the trust stores).
    validation: CertificateValidation | None = None

    @property
    def is_signing_candidate(self) -> bool:
        return not self.is_ca and self.location.kind not in (LocationKind.SYSTEM, LocationKind.TLS)


class TlsEndpointResult(FactModel):
    target: str  # as configured: host:port or https URL
    host: str
    port: int
    scheme: Literal["https", "tls"] = "tls"
    reachable: bool = False
    error: str | None = None
    protocol: str | None = None  # negotiated, e.g. TLSv1.3
    leaf: FoundCertificate | None = None
    chain_sent_sha256: list[str] = Field(default_factory=list)  # as the server sent it, leaf first
    chain_complete: bool | None = None  # the sent chain reaches a trust anchor without fetching
    verified: bool | None = None  # chain verifies to the system plus pinned roots
    verify_error: str | None = None
    hostname_matches: bool | None = None
    days_to_expiry: int | None = None
    tls10_accepted: bool | None = None  # None: this agent's OpenSSL cannot offer it, so not tested
    tls11_accepted: bool | None = None
    hsts: bool | None = None  # None: not an HTTPS service, or the request failed
    hsts_header: str | None = None
    http_status: int | None = None


class DocumentStatus(StrEnum):
    VALID = "valid"
    INVALID = "invalid"  # changed after signing or a broken signature
    SIGNED_OUTSIDE_VALIDITY = "signed_outside_validity"  # signed while the certificate was not valid
    REVOKED = "revoked"
    UNTRUSTED = "untrusted"
    REVOCATION_UNKNOWN = "revocation_unknown"
    ERROR = "error"


class SignedDocumentResult(FactModel):
    path: str
    kind: Literal["pdf", "cms"]
    signature: str  # PDF signature field name, or the .p7s file name
    status: DocumentStatus
    reasons: list[str] = Field(default_factory=list)
    signer_subject: str | None = None
    signer_sha256: str | None = None
    signer_not_after: datetime | None = None
    intact: bool | None = None  # the signed bytes are unchanged
    valid: bool | None = None  # the signature value verifies
    trusted: bool | None = None
    revoked: bool | None = None
    revoked_at: datetime | None = None
    revocation_unknown: bool = False
    signing_time: datetime | None = None
    signing_time_source: Literal["timestamp", "signer"] | None = None
    signed_while_valid: bool | None = None
    revoked_before_signing: bool | None = None
    timestamp_present: bool = False
    timestamp_trusted: bool | None = None
    coverage: str | None = None  # pyHanko coverage level, e.g. ENTIRE_FILE
    modified_after_signing: bool | None = None
    error: str | None = None


class CertificateFacts(FactModel):
    certificates: list[FoundCertificate] = Field(default_factory=list)
    tls_endpoints: list[TlsEndpointResult] = Field(default_factory=list)
    documents: list[SignedDocumentResult] = Field(default_factory=list)
    # Places that could not be read and why (a missing folder, a PKCS#12 needing a password, ...).
    errors: list[str] = Field(default_factory=list)
    legacy_sha1: bool = False  # the agent ran in explicit SHA-1 legacy mode
    trust_anchor_sha256: list[str] = Field(default_factory=list)  # pinned anchors used for validation
