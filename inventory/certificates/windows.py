"""Windows: the MY, CA and ROOT stores through ``ssl.enum_certificates``, key providers via CryptoAPI.

``ssl.enum_certificates`` gives the certificates but not where their keys are. The key provider
(a USB token's CSP, a smart-card KSP, or Microsoft's software providers) comes from a PowerShell
one-liner that asks CryptoAPI/CNG (:data:`KEY_PROVIDER_SCRIPT`), read as JSON. Tests replay recorded
output of both (tests/fixtures/pki/windows), so this module never needs Windows to be exercised.
"""

from __future__ import annotations

import hashlib
import json
import ssl
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from inventory.certificates.facts import CertLocation, LocationKind
from inventory.certificates.model import Discovered, DiscoveryResult
from inventory.certificates.parse import describe

# (certificate bytes, encoding "x509_asn" | "pkcs_7_asn", trust True | set of EKU OIDs)
EnumResult = list[tuple[bytes, str, object]]
Enumerator = Callable[[str], EnumResult]
Runner = Callable[[str], str]

KEY_PROVIDER_SCRIPT = r"""
$ErrorActionPreference = 'SilentlyContinue'
Get-ChildItem Cert:\CurrentUser\My, Cert:\LocalMachine\My |
 Where-Object { $_.HasPrivateKey } | ForEach-Object {
  $p = $null; $hw = $null; $rem = $null
  try {
    $c = $_.PrivateKey.CspKeyContainerInfo
    if ($c) { $p = $c.ProviderName; $hw = $c.HardwareDevice; $rem = $c.Removable }
  } catch {}
  if (-not $p) {
    try { $p = [Security.Cryptography.X509Certificates.RSACertificateExtensions]::GetRSAPrivateKey($_
      ).Key.Provider.Provider } catch {}
  }
  if (-not $p) {
    try { $p = [Security.Cryptography.X509Certificates.ECDsaCertificateExtensions]::GetECDsaPrivateKey($_
      ).Key.Provider.Provider } catch {}
  }
  [pscustomobject]@{
    Store = ($_.PSParentPath -replace '^.*::', ''); Thumbprint = $_.Thumbprint
    HasPrivateKey = $_.HasPrivateKey; Provider = $p; HardwareDevice = $hw; Removable = $rem
  }
} | ConvertTo-Json -Compress
"""
# Microsoft's providers that keep keys in software (or in the TPM, which is not a removable token).
SOFTWARE_PROVIDERS = {
    "microsoft software key storage provider",
    "microsoft enhanced rsa and aes cryptographic provider",
    "microsoft enhanced cryptographic provider v1.0",
    "microsoft base cryptographic provider v1.0",
    "microsoft strong cryptographic provider",
    "microsoft enhanced dss and diffie-hellman cryptographic provider",
    "microsoft base dss and diffie-hellman cryptographic provider",
    "microsoft rsa schannel cryptographic provider",
    "microsoft platform crypto provider",
}


@dataclass(frozen=True)
class KeyProvider:
    thumbprint: str  # SHA-1 of the DER, upper-case hex (what Windows calls the thumbprint)
    provider: str | None
    hardware: bool | None
    removable: bool | None

    @property
    def on_token(self) -> bool | None:
        if self.hardware is not None and self.hardware:
            return True
        if not self.provider:
            return None
        name = self.provider.strip().lower()
        # Anything else is a smart-card provider or a vendor's token CSP (VNPT-CA, Viettel-CA, BkavCA ...).
        return name not in SOFTWARE_PROVIDERS


def run_powershell(script: str, timeout: float = 60.0) -> str:
    proc = subprocess.run(
        ["powershell.exe", "-NoProfile", "-NonInteractive", "-Command", script],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip() or f"powershell exited with {proc.returncode}")
    return proc.stdout


def parse_key_providers(text: str) -> dict[str, KeyProvider]:
    """Thumbprint -> provider, from :data:`KEY_PROVIDER_SCRIPT`'s JSON (one object or a list)."""
    text = text.strip().lstrip("\ufeff")
    if not text:
        return {}
    data = json.loads(text)
    rows = data if isinstance(data, list) else [data]
    out: dict[str, KeyProvider] = {}
    for row in rows:
        thumb = str(row.get("Thumbprint") or "").upper()
        if not thumb:
            continue
        out[thumb] = KeyProvider(
            thumbprint=thumb,
            provider=row.get("Provider") or None,
            hardware=row.get("HardwareDevice"),
            removable=row.get("Removable"),
        )
    return out


def _default_enum(store: str) -> EnumResult:
    if sys.platform != "win32":  # the type checker knows ssl.enum_certificates on Windows only
        raise OSError("certificate stores are read through ssl.enum_certificates, on Windows only")
    return list(ssl.enum_certificates(store))


def _read_store(
    store: str, kind: LocationKind, enum: Enumerator, keys: dict[str, KeyProvider]
) -> DiscoveryResult:
    result = DiscoveryResult()
    try:
        entries = enum(store)
    except (OSError, AttributeError) as exc:
        result.errors.append(f"Windows store {store}: cannot enumerate: {exc}")
        return result
    for raw, encoding, _trust in entries:
        if encoding != "x509_asn":
            continue  # pkcs_7_asn entries are CRL/CTL containers, not certificates
        try:
            cert = x509.load_der_x509_certificate(bytes(raw))
        except ValueError as exc:
            result.errors.append(f"Windows store {store}: unreadable certificate: {exc}")
            continue
        thumb = hashlib.sha1(bytes(raw)).hexdigest().upper()  # Windows' own thumbprint, not security
        key = keys.get(thumb)
        info = describe(
            cert,
            CertLocation(kind=kind, path=store),
            has_private_key=True if key else (None if kind is LocationKind.WINDOWS else False),
            key_on_token=key.on_token if key else None,
            key_provider=key.provider if key else None,
        )
        result.items.append(Discovered(info, cert))
    return result


def system_trust_store(
    stores: Iterable[str] = ("ROOT", "CA"), *, enum: Enumerator | None = None
) -> DiscoveryResult:
    """The ROOT and CA stores (trust anchors and intermediates, not signing certificates)."""
    result = DiscoveryResult()
    for store in stores:
        result.extend(_read_store(store, LocationKind.SYSTEM, enum or _default_enum, {}))
    return result.unique()


def personal_certificates(
    nss_databases: Iterable[Path] | None = None,
    *,
    enum: Enumerator | None = None,
    run: Runner | None = None,
) -> DiscoveryResult:
    """The MY store, each certificate with its key's provider (token or software)."""
    del nss_databases  # NSS on Windows is Firefox's own business; the MY store is what signing uses
    result = DiscoveryResult()
    keys: dict[str, KeyProvider] = {}
    try:
        keys = parse_key_providers((run or run_powershell)(KEY_PROVIDER_SCRIPT))
    except (OSError, RuntimeError, ValueError, subprocess.TimeoutExpired) as exc:
        result.errors.append(f"Windows key providers: cannot read: {exc}")
    result.extend(_read_store("MY", LocationKind.WINDOWS, enum or _default_enum, keys))
    return result.unique()
