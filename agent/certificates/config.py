"""The agent's ``[certificates]`` configuration: where to look, what to probe, what to trust.

Example (agent.toml)::

    [certificates]
    folders = ['C:\\Users\\Public\\ChungThu']
    tls_endpoints = ["dichvucong.hanoi.gov.vn", "https://qlvb.hanoi.gov.vn", "mail.hanoi.gov.vn:993"]
    document_folders = ['D:\\VanBan\\DaKy']
    extra_trust_anchors = ["/etc/wardwatch/trust/city-root.pem"]
    crl_cache_dir = "/var/lib/wardwatch-agent/crl"
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

_HOST_PORT = re.compile(r"^(?P<host>\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.\-]+)(?::(?P<port>\d{1,5}))?$")


def parse_endpoint(target: str) -> tuple[str, int, str]:
    """``host``, ``host:port`` or ``https://host[:port]/...`` -> (host, port, scheme).

    A bare host means HTTPS on 443. Raises ``ValueError`` naming the bad target.
    """
    t = target.strip()
    if "://" in t:
        parts = urlsplit(t)
        if parts.scheme.lower() != "https" or not parts.hostname:
            raise ValueError(f"TLS endpoint {target!r}: only https:// URLs (or host:port) are probed")
        try:
            port = parts.port or 443
        except ValueError as exc:
            raise ValueError(f"TLS endpoint {target!r}: bad port") from exc
        return parts.hostname, port, "https"
    m = _HOST_PORT.match(t)
    if not m:
        raise ValueError(f"TLS endpoint {target!r}: expected host, host:port or an https URL")
    host = m.group("host").strip("[]")
    port = int(m.group("port") or 443)
    if not 0 < port < 65536:
        raise ValueError(f"TLS endpoint {target!r}: port {port} out of range")
    return host, port, "https" if port == 443 else "tls"


class CertificatesConfig(BaseModel):
    """The agent's TOML has a ``[certificates]`` table for this."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    # Certificate files (PEM, DER, PKCS#7, PKCS#12) and folders searched for them.
    files: list[Path] = Field(default_factory=list)
    folders: list[Path] = Field(default_factory=list)
    # Passwords tried on PKCS#12 files after "no password"; never reported.
    pkcs12_passwords: list[SecretStr] = Field(default_factory=list)
    include_system_store: bool = True
    include_personal_stores: bool = True  # NSS on Linux, the MY store on Windows
    nss_databases: list[Path] | None = None  # None: ~/.pki/nssdb
    pkcs11_module: Path | None = None  # e.g. the token vendor's .dll/.so; needs the pkcs11 extra
    pkcs11_pin: SecretStr | None = None  # only to see private-key objects; certificates need none
    # host, host:port or https URL of the city services the commune relies on.
    tls_endpoints: list[str] = Field(default_factory=list)
    # Folders with signed documents: *.pdf (embedded signatures) and *.p7s (detached CMS).
    document_folders: list[Path] = Field(default_factory=list)
    max_documents: int = Field(default=200, ge=0)
    # Trust: the shipped Vietnamese roots plus these PEM files (operators add their own roots).
    use_shipped_anchors: bool = True
    extra_trust_anchors: list[Path] = Field(default_factory=list)
    crl_cache_dir: Path | None = None  # None: <state_dir>/crl; also keeps OCSP answers
    offline_crls: list[Path] = Field(default_factory=list)  # CRL files (DER or PEM) used as-is
    ocsp: bool = True  # ask OCSP responders; off: certificates naming only OCSP get "revocation unknown"
    # SHA-1 signatures are refused unless this is on; even then every SHA-1 use is reported.
    legacy_sha1: bool = False
    connect_timeout: float = Field(default=10.0, gt=0, le=120)
    fetch_timeout: float = Field(default=15.0, gt=0, le=300)
    # `wardwatch agent certificates` calls a good certificate this close to its end "expiring" (with the
    # days left) rather than "valid".
    expiring_days: int = Field(default=30, ge=0, le=3650)

    @field_validator("tls_endpoints")
    @classmethod
    def _valid_endpoints(cls, v: list[str]) -> list[str]:
        for target in v:
            parse_endpoint(target)
        return v

    def passwords(self) -> list[bytes]:
        return [p.get_secret_value().encode() for p in self.pkcs12_passwords]
