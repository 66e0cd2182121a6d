"""Trust anchors: the Vietnamese roots shipped in ``checks/data/trust/vn`` plus operator-added PEM files.

Self-signed certificates become anchors; CA certificates that are not self-signed (the shipped
VGCA/NEAC intermediates, an operator's sub-CA) only help to build paths.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from cryptography import x509

from inventory.certificates.parse import CertificateParseError, fingerprint, is_self_signed, load_certificates


@dataclass
class TrustSet:
    anchors: list[x509.Certificate] = field(default_factory=list)
    intermediates: list[x509.Certificate] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(self, cert: x509.Certificate) -> None:
        target = self.anchors if is_self_signed(cert) else self.intermediates
        fp = fingerprint(cert)
        if all(fingerprint(c) != fp for c in target):
            target.append(cert)

    def anchor_fingerprints(self) -> list[str]:
        return sorted(fingerprint(c) for c in self.anchors)


def shipped_anchor_files() -> list[Path]:
    folder = resources.files("checks.data") / "trust" / "vn"
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith(".pem"))


def load_trust(extra: Iterable[Path] = (), *, shipped: bool = True) -> TrustSet:
    trust = TrustSet()
    paths = [*(shipped_anchor_files() if shipped else []), *extra]
    for path in paths:
        try:
            for item in load_certificates(Path(path).read_bytes(), name=Path(path).name):
                trust.add(item.cert)
        except OSError as exc:
            trust.errors.append(f"trust anchor {path}: cannot read: {exc.strerror or exc}")
        except CertificateParseError as exc:
            trust.errors.append(f"trust anchor {exc}")
    return trust
