"""What discovery hands back: the parsed certificate next to its fact entry."""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography import x509

from inventory.certificates.facts import FoundCertificate


@dataclass
class Discovered:
    info: FoundCertificate
    cert: x509.Certificate


@dataclass
class DiscoveryResult:
    items: list[Discovered] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def extend(self, other: DiscoveryResult) -> None:
        self.items.extend(other.items)
        self.errors.extend(other.errors)

    def unique(self) -> DiscoveryResult:
        """One entry per (fingerprint, place): the same file read twice is reported once."""
        seen: set[tuple[str, str, str, str | None]] = set()
        out = DiscoveryResult(errors=list(self.errors))
        for d in self.items:
            loc = d.info.location
            key = (d.info.sha256, loc.kind.value, loc.path, loc.label)
            if key not in seen:
                seen.add(key)
                out.items.append(d)
        return out
