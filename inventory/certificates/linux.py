"""Linux: the system trust bundle and the user's NSS databases."""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from pathlib import Path

from inventory.certificates import nss
from inventory.certificates.facts import LocationKind
from inventory.certificates.files import read_file
from inventory.certificates.model import DiscoveryResult

# Where distributions keep the bundle of trusted roots, in the order we try them.
TRUST_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Alpine
    "/etc/pki/tls/certs/ca-bundle.crt",  # RHEL, Fedora
    "/etc/ssl/ca-bundle.pem",  # SUSE
    "/etc/ssl/cert.pem",
)


def system_trust_store(bundles: Iterable[str] | None = None) -> DiscoveryResult:
    """The roots the OS trusts for TLS, read from the first bundle file that exists."""
    candidates = (
        list(bundles)
        if bundles is not None
        else [ssl.get_default_verify_paths().cafile or "", *TRUST_BUNDLES]
    )
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return read_file(Path(candidate), kind=LocationKind.SYSTEM)
    return DiscoveryResult(errors=["no system trust bundle found"])


def personal_certificates(
    nss_databases: Iterable[Path] | None = None, *, run: nss.Runner | None = None
) -> DiscoveryResult:
    """Certificates the user holds: NSS databases (~/.pki/nssdb by default), through certutil."""
    result = DiscoveryResult()
    for db in nss_databases if nss_databases is not None else nss.default_databases():
        result.extend(nss.read_database(Path(db), run=run))
    return result
