"""Certificates in configured files and folders."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from inventory.certificates.facts import CertLocation, LocationKind
from inventory.certificates.model import Discovered, DiscoveryResult
from inventory.certificates.parse import CERT_SUFFIXES, CertificateParseError, describe, load_certificates

MAX_FILE_BYTES = 5 * 1024 * 1024  # a certificate container is small; anything larger is not one


def read_file(
    path: Path, *, passwords: Sequence[bytes] = (), kind: LocationKind = LocationKind.FILE
) -> DiscoveryResult:
    """Every certificate in one file (PEM, DER, PKCS#7 or PKCS#12)."""
    result = DiscoveryResult()
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            result.errors.append(f"{path}: {size} bytes, too large for a certificate file")
            return result
        data = path.read_bytes()
    except OSError as exc:
        result.errors.append(f"{path}: cannot read: {exc.strerror or exc}")
        return result
    try:
        loaded = load_certificates(data, name=path.name, passwords=passwords)
    except CertificateParseError as exc:
        result.errors.append(str(exc))
        return result
    for item in loaded:
        loc = CertLocation(kind=kind, path=str(path), label=item.label)
        info = describe(
            item.cert,
            loc,
            has_private_key=item.has_private_key or None,
            key_on_token=False if item.has_private_key else None,
        )
        result.items.append(Discovered(info, item.cert))
    return result


def iter_folder(
    folder: Path, *, recursive: bool = True, suffixes: Iterable[str] = CERT_SUFFIXES
) -> list[Path]:
    wanted = tuple(s.lower() for s in suffixes)
    found: list[Path] = []
    walker = os.walk(folder) if recursive else [(str(folder), [], os.listdir(folder))]
    for root, _dirs, names in walker:
        for n in sorted(names):
            if n.lower().endswith(wanted):
                found.append(Path(root) / n)
    return sorted(found)


def discover_paths(
    files: Iterable[Path] = (),
    folders: Iterable[Path] = (),
    *,
    passwords: Sequence[bytes] = (),
    recursive: bool = True,
) -> DiscoveryResult:
    """Certificates in the given files and in certificate-looking files of the given folders."""
    result = DiscoveryResult()
    for f in files:
        result.extend(read_file(Path(f), passwords=passwords))
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            result.errors.append(f"{folder}: folder not found")
            continue
        try:
            paths = iter_folder(folder, recursive=recursive)
        except OSError as exc:
            result.errors.append(f"{folder}: cannot list: {exc.strerror or exc}")
            continue
        for path in paths:
            result.extend(read_file(path, passwords=passwords))
    return result.unique()
