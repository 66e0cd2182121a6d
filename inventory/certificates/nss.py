"""NSS databases (Firefox, Chromium on Linux: ~/.pki/nssdb) read through ``certutil`` when present.

``certutil -L`` lists nicknames with trust flags; ``u`` means the user holds the private key. A
nickname ``Token Label:name`` is an object on a PKCS#11 token NSS has loaded (a USB token).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

from cryptography import x509

from inventory.certificates.facts import CertLocation, LocationKind
from inventory.certificates.model import Discovered, DiscoveryResult
from inventory.certificates.parse import describe

Runner = Callable[[Sequence[str]], str]

# Slots NSS itself provides: a certificate there is not on a hardware token.
SOFTWARE_TOKENS = {
    "NSS Certificate DB",
    "NSS Generic Crypto Services",
    "Builtin Object Token",
    "NSS FIPS 140-2 Certificate DB",
}
_TRUST = re.compile(r"^(?P<nick>.+?)\s{2,}(?P<trust>[A-Za-z]*,[A-Za-z]*,[A-Za-z]*)\s*$")


def default_databases() -> list[Path]:
    return [Path.home() / ".pki" / "nssdb"]


def certutil_available() -> bool:
    return shutil.which("certutil") is not None


def run_certutil(args: Sequence[str], timeout: float = 20.0) -> str:
    proc = subprocess.run(["certutil", *args], capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip() or f"certutil exited with {proc.returncode}")
    return proc.stdout


def parse_listing(text: str) -> list[tuple[str, str]]:
    """(nickname, trust flags) pairs from ``certutil -L`` output."""
    out: list[tuple[str, str]] = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith(("Certificate Nickname", "SSL,S/MIME")):
            continue
        m = _TRUST.match(line.rstrip())
        if m:
            out.append((m.group("nick").strip(), m.group("trust")))
    return out


def token_of(nickname: str) -> str | None:
    """The token label of ``Token:nick``; ``None`` for objects in the software database."""
    if ":" not in nickname:
        return None
    label = nickname.split(":", 1)[0]
    return None if label in SOFTWARE_TOKENS else label


def read_database(db: Path, *, run: Runner | None = None) -> DiscoveryResult:
    result = DiscoveryResult()
    runner = run or run_certutil
    if run is None and not certutil_available():
        return result  # no NSS tools installed: nothing to read, not an error
    if run is None and not (db / "cert9.db").exists() and not (db / "cert8.db").exists():
        return result
    dbarg = f"sql:{db}"
    try:
        listing = parse_listing(runner(["-L", "-h", "all", "-d", dbarg]))
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        result.errors.append(f"NSS {db}: certutil -L failed: {exc}")
        return result
    for nick, trust in listing:
        try:
            pem = runner(["-L", "-d", dbarg, "-n", nick, "-a"])  # "-h all" would ignore -n
            # certutil -a writes CRLF inside the base64, which cryptography refuses.
            certs = x509.load_pem_x509_certificates(pem.replace("\r\n", "\n").encode())
        except (RuntimeError, OSError, subprocess.TimeoutExpired, ValueError) as exc:
            result.errors.append(f"NSS {db}: cannot read {nick!r}: {exc}")
            continue
        has_key = "u" in trust.lower()
        token = token_of(nick)
        for cert in certs:
            loc = CertLocation(kind=LocationKind.NSS, path=str(db), label=nick)
            info = describe(
                cert,
                loc,
                has_private_key=has_key,
                key_on_token=(token is not None) if has_key else None,
                key_provider=token,
            )
            result.items.append(Discovered(info, cert))
    return result.unique()
