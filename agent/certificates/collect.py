"""One certificates run: discover, validate, probe TLS services, check signed documents.

``collect_certificates(settings)`` is what the agent cycle calls; ``run_certificates`` is shared with
``wardwatch agent certificates``. Validation needs pyHanko (the ``signatures`` extra): without it the
certificates are still inventoried and TLS still probed, and the section says why nothing was validated.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509

from agent.certificates.capability import CERTIFICATES
from agent.certificates.config import CertificatesConfig
from agent.certificates.trust import TrustSet, load_trust
from inventory.certificates import platform_module
from inventory.certificates.facts import (
    CertificateFacts,
    CertificateValidation,
    SignedDocumentResult,
    TlsEndpointResult,
)
from inventory.certificates.files import discover_paths
from inventory.certificates.model import DiscoveryResult

if TYPE_CHECKING:
    from agent.config import AgentSettings

log = logging.getLogger(__name__)
NO_PYHANKO = "certificate and signature validation needs pyHanko: pip install 'wardwatch[signatures]'"


@dataclass
class Plan:
    """What one run looks at; built from the agent config or from the CLI's targets."""

    files: list[Path] = field(default_factory=list)
    folders: list[Path] = field(default_factory=list)
    tls_endpoints: list[str] = field(default_factory=list)
    documents: list[Path] = field(default_factory=list)  # explicit PDF / .p7s files
    document_folders: list[Path] = field(default_factory=list)
    system_store: bool = True
    personal_stores: bool = True


def plan_from_config(cfg: CertificatesConfig) -> Plan:
    return Plan(
        files=list(cfg.files),
        folders=list(cfg.folders),
        tls_endpoints=list(cfg.tls_endpoints),
        document_folders=list(cfg.document_folders),
        system_store=cfg.include_system_store,
        personal_stores=cfg.include_personal_stores,
    )


def discover(cfg: CertificatesConfig, plan: Plan) -> tuple[DiscoveryResult, DiscoveryResult]:
    """(certificates to report and validate, system trust store)."""
    found = discover_paths(plan.files, plan.folders, passwords=cfg.passwords())
    plat = platform_module()
    if plan.personal_stores:
        found.extend(plat.personal_certificates(cfg.nss_databases))
    if cfg.pkcs11_module is not None:
        from inventory.certificates.pkcs11 import read_module

        pin = cfg.pkcs11_pin.get_secret_value() if cfg.pkcs11_pin else None
        found.extend(read_module(cfg.pkcs11_module, pin=pin))
    system = plat.system_trust_store() if plan.system_store else DiscoveryResult()
    return found.unique(), system


def run_certificates(cfg: CertificatesConfig, plan: Plan, *, crl_cache_dir: Path | None) -> CertificateFacts:
    trust = load_trust(cfg.extra_trust_anchors, shipped=cfg.use_shipped_anchors)
    found, system = discover(cfg, plan)
    facts = CertificateFacts(legacy_sha1=cfg.legacy_sha1, trust_anchor_sha256=trust.anchor_fingerprints())
    facts.errors.extend([*trust.errors, *found.errors, *system.errors])
    # CA certificates found anywhere help to build paths (an intermediate next to the user's certificate).
    pool = [d.cert for d in [*found.items, *system.items] if d.info.is_ca]
    signing = [d for d in found.items if d.info.is_signing_candidate]
    docs = list(plan.documents)
    if plan.document_folders:
        from agent.certificates.documents import find_documents

        more, errors = find_documents(plan.document_folders, cfg.max_documents)
        docs += more
        facts.errors.extend(errors)
    try:
        validations, doc_results, crl_errors = asyncio.run(
            _validate(cfg, trust, pool, [d.cert for d in signing], docs, crl_cache_dir)
        )
        facts.errors.extend(crl_errors)
    except ImportError:
        validations, doc_results = {}, []
        if signing or docs:
            facts.errors.append(NO_PYHANKO)
    for d in signing:
        d.info.validation = validations.get(d.info.sha256)
    facts.certificates = [d.info for d in [*found.items, *system.items]]
    facts.documents = doc_results
    facts.tls_endpoints = probe_all(plan.tls_endpoints, trust, cfg.connect_timeout)
    return facts


async def _validate(
    cfg: CertificatesConfig,
    trust: TrustSet,
    pool: list[x509.Certificate],
    certs: list[x509.Certificate],
    docs: list[Path],
    crl_cache_dir: Path | None,
) -> tuple[dict[str, CertificateValidation], list[SignedDocumentResult], list[str]]:
    from agent.certificates.documents import validate_document
    from agent.certificates.revocation import CrlStore
    from agent.certificates.validate import SigningValidator

    store = CrlStore(crl_cache_dir, cfg.offline_crls)
    validator = SigningValidator(
        trust,
        other_certs=pool,
        crl_store=store,
        legacy_sha1=cfg.legacy_sha1,
        fetch_timeout=cfg.fetch_timeout,
        ocsp=cfg.ocsp,
    )
    doc_results: list[SignedDocumentResult] = []
    async with validator.session():
        validations = await validator.validate_many(certs)
        for path in docs:
            doc_results.extend(await validate_document(path, validator))
    return validations, doc_results, store.errors


def probe_all(targets: Iterable[str], trust: TrustSet, timeout: float) -> list[TlsEndpointResult]:
    from agent.certificates.tls import probe

    out = []
    for target in targets:
        try:
            out.append(probe(target, trust, timeout=timeout))
        except ValueError as exc:  # a bad target string: say so in the result, go on
            out.append(TlsEndpointResult(target=target, host=target, port=0, error=str(exc)))
    return out


def collect_certificates(settings: AgentSettings) -> CertificateFacts | None:
    """The certificates section for one agent cycle; ``None`` when the certs module is disabled."""
    cfg = CERTIFICATES.config_of(settings)
    if not cfg.enabled:
        return None
    cache = cfg.crl_cache_dir or (Path(settings.state_dir) / "crl")
    return run_certificates(cfg, plan_from_config(cfg), crl_cache_dir=cache)
