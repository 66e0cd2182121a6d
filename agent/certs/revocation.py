"""CRLs: a cache folder, offline CRL files, and a fetcher that uses them before the network.

A commune's link is weak: a CRL fetched once is kept until its nextUpdate and used from the cache;
CRL files an operator copies by hand (``offline_crls``) count the same. A CRL past its nextUpdate is
never used as current (hard-fail then reports "revocation unknown").
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from asn1crypto import crl as asn1_crl
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend
from pyhanko_certvalidator.fetchers.aiohttp_fetchers.crl_client import AIOHttpCRLFetcher
from pyhanko_certvalidator.fetchers.api import Fetchers
from pyhanko_certvalidator.fetchers.common_utils import FetchBudget

log = logging.getLogger(__name__)


def _load_crl(data: bytes) -> asn1_crl.CertificateList:
    if pem.detect(data):
        _, _, data = pem.unarmor(data)
    return asn1_crl.CertificateList.load(data)


def _next_update(c: asn1_crl.CertificateList) -> datetime | None:
    nu = c["tbs_cert_list"]["next_update"].native
    return nu.astimezone(UTC) if nu else None


class CrlStore:
    """Cached and offline CRLs, matched to a certificate by its issuer name."""

    def __init__(self, cache_dir: Path | None, offline: Iterable[Path] = ()) -> None:
        self.cache_dir = cache_dir
        self.errors: list[str] = []
        self._crls: list[asn1_crl.CertificateList] = []
        for path in offline:
            try:
                self._crls.append(_load_crl(Path(path).read_bytes()))
            except (OSError, ValueError) as exc:
                self.errors.append(f"offline CRL {path}: cannot read: {exc}")
        if cache_dir is not None and cache_dir.is_dir():
            for path in sorted(cache_dir.glob("*.crl")):
                try:
                    self._crls.append(_load_crl(path.read_bytes()))
                except (OSError, ValueError):
                    path.unlink(missing_ok=True)  # a torn write; it will be fetched again

    def fresh_for(
        self, cert: asn1_x509.Certificate, now: datetime | None = None
    ) -> list[asn1_crl.CertificateList]:
        now = now or datetime.now(UTC)
        issuer = cert.issuer.dump()
        out = []
        for c in self._crls:
            nu = _next_update(c)
            if c.issuer.dump() == issuer and nu is not None and nu > now:
                out.append(c)
        return out

    def fresh_for_all(self, now: datetime | None = None) -> list[asn1_crl.CertificateList]:
        now = now or datetime.now(UTC)
        return [c for c in self._crls if (nu := _next_update(c)) is not None and nu > now]

    def store(self, c: asn1_crl.CertificateList) -> None:
        self._crls.append(c)
        if self.cache_dir is None:
            return
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            idp = c["tbs_cert_list"]["crl_extensions"].dump()
            key = hashlib.sha256(c.issuer.dump() + idp).hexdigest()[:32]
            tmp = self.cache_dir / f".{key}.tmp"
            tmp.write_bytes(c.dump())
            tmp.replace(self.cache_dir / f"{key}.crl")  # atomic: a reader never sees half a CRL
        except OSError as exc:
            log.warning("CRL cache %s not writable: %s", self.cache_dir, exc)


class CachingCRLFetcher(AIOHttpCRLFetcher):
    """Uses a fresh cached/offline CRL when there is one; otherwise fetches and caches."""

    def __init__(self, store: CrlStore, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self._store = store

    async def fetch(self, cert, *, use_deltas=True):  # type: ignore[no-untyped-def,override]
        cached = self._store.fresh_for(cert)
        if cached:
            return cached
        fetched = await super().fetch(cert, use_deltas=use_deltas)
        for c in fetched:
            self._store.store(c)
        return fetched


class CachingFetcherBackend(AIOHttpFetcherBackend):
    def __init__(self, store: CrlStore, per_request_timeout: float) -> None:
        super().__init__(per_request_timeout=per_request_timeout)
        self._store = store

    def get_fetchers(self) -> Fetchers:
        base = super().get_fetchers()
        crl_fetcher = CachingCRLFetcher(
            self._store,
            self.session,
            per_request_timeout=self.per_request_timeout,
            budget=FetchBudget(self.limits),
        )
        return Fetchers(
            ocsp_fetcher=base.ocsp_fetcher, crl_fetcher=crl_fetcher, cert_fetcher=base.cert_fetcher
        )
