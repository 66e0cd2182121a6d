"""CRLs and OCSP answers: a cache folder, offline CRL files, and fetchers that use them before the network.

A commune's link is weak: a CRL or OCSP answer fetched once is kept until its nextUpdate and used from
the cache; CRL files an operator copies by hand (``offline_crls``) count the same. Anything past its
nextUpdate is never used as current (hard-fail then reports "revocation unknown"); an OCSP answer
without a nextUpdate is used for this run only. With OCSP turned off no responder is asked: a
certificate that names only an OCSP responder then gets "revocation unknown".
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeAlias

from asn1crypto import cms as asn1_cms
from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from pyhanko_certvalidator.authority import Authority
from pyhanko_certvalidator.errors import OCSPFetchError
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend
from pyhanko_certvalidator.fetchers.aiohttp_fetchers.crl_client import AIOHttpCRLFetcher
from pyhanko_certvalidator.fetchers.aiohttp_fetchers.ocsp_client import AIOHttpOCSPFetcher
from pyhanko_certvalidator.fetchers.api import Fetchers, OCSPFetcher
from pyhanko_certvalidator.fetchers.common_utils import FetchBudget

# What pyhanko's fetchers are asked about (asn1crypto types).
_Cert: TypeAlias = asn1_x509.Certificate | asn1_cms.AttributeCertificateV2
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
        self._ocsps: dict[str, asn1_ocsp.OCSPResponse] = {}
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

    # ---- OCSP answers, one file per certificate (issuer name + serial) --------------------------

    @staticmethod
    def _ocsp_key(cert: asn1_x509.Certificate) -> str:
        serial = cert.serial_number.to_bytes((cert.serial_number.bit_length() + 8) // 8, "big")
        return hashlib.sha256(cert.issuer.dump() + b"/" + serial).hexdigest()[:32]

    def ocsp_for(
        self, cert: asn1_x509.Certificate, now: datetime | None = None
    ) -> asn1_ocsp.OCSPResponse | None:
        """A cached OCSP answer about ``cert`` that is still current (its nextUpdate is ahead)."""
        now = now or datetime.now(UTC)
        key = self._ocsp_key(cert)
        resp = self._ocsps.get(key)
        if resp is None and self.cache_dir is not None:
            path = self.cache_dir / f"{key}.ocsp"
            try:
                resp = asn1_ocsp.OCSPResponse.load(path.read_bytes())
                _ocsp_next_update(resp, cert)  # parse now: a torn file raises here, not in the validator
            except FileNotFoundError:
                return None
            except (OSError, ValueError, KeyError, TypeError):
                path.unlink(missing_ok=True)  # a torn write; it will be fetched again
                return None
        if resp is None:
            return None
        nu = _ocsp_next_update(resp, cert)
        return resp if nu is not None and nu > now else None

    def store_ocsp(self, cert: asn1_x509.Certificate, resp: asn1_ocsp.OCSPResponse) -> None:
        try:
            nu = _ocsp_next_update(resp, cert)
        except (ValueError, KeyError, TypeError):
            return
        if nu is None:
            return  # no nextUpdate: the responder says "ask me every time"
        key = self._ocsp_key(cert)
        self._ocsps[key] = resp
        if self.cache_dir is None:
            return
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            tmp = self.cache_dir / f".{key}.ocsp.tmp"
            tmp.write_bytes(resp.dump())
            tmp.replace(self.cache_dir / f"{key}.ocsp")
        except OSError as exc:
            log.warning("OCSP cache %s not writable: %s", self.cache_dir, exc)

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


def _ocsp_next_update(resp: asn1_ocsp.OCSPResponse, cert: asn1_x509.Certificate) -> datetime | None:
    """The nextUpdate of the single answer about ``cert`` in ``resp`` (None: none given or no answer)."""
    if resp["response_status"].native != "successful":
        return None
    data = resp["response_bytes"]["response"].parsed["tbs_response_data"]
    for single in data["responses"]:
        if single["cert_id"]["serial_number"].native == cert.serial_number:
            nu = single["next_update"].native
            return nu.astimezone(UTC) if nu else None
    return None


class CachingOCSPFetcher(AIOHttpOCSPFetcher):
    """Uses a current cached OCSP answer when there is one; otherwise asks the responder and caches."""

    def __init__(self, store: CrlStore, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._store = store
        self._from_cache: dict[bytes, asn1_ocsp.OCSPResponse] = {}

    async def fetch(self, cert: _Cert, authority: Authority) -> asn1_ocsp.OCSPResponse:
        if isinstance(cert, asn1_x509.Certificate):
            cached = self._store.ocsp_for(cert)
            if cached is not None:
                self._from_cache[cert.issuer_serial] = cached
                return cached
        resp = await super().fetch(cert, authority)
        if isinstance(cert, asn1_x509.Certificate):
            self._store.store_ocsp(cert, resp)
        return resp

    def fetched_responses(self) -> list[asn1_ocsp.OCSPResponse]:
        return [*super().fetched_responses(), *self._from_cache.values()]

    def fetched_responses_for_cert(self, cert: _Cert) -> list[asn1_ocsp.OCSPResponse]:
        found = set(super().fetched_responses_for_cert(cert))
        cached = self._from_cache.get(cert.issuer_serial) if isinstance(cert, asn1_x509.Certificate) else None
        return [*found, cached] if cached is not None else list(found)


class NoOCSPFetcher(OCSPFetcher):
    """OCSP turned off in the configuration: no responder is ever asked."""

    async def fetch(self, cert: _Cert, authority: Authority) -> asn1_ocsp.OCSPResponse:
        raise OCSPFetchError("OCSP is turned off in the agent configuration")

    def fetched_responses(self) -> list[asn1_ocsp.OCSPResponse]:
        return []

    def fetched_responses_for_cert(self, cert: _Cert) -> list[asn1_ocsp.OCSPResponse]:
        return []


class CachingCRLFetcher(AIOHttpCRLFetcher):
    """Uses a fresh cached/offline CRL when there is one; otherwise fetches and caches."""

    def __init__(self, store: CrlStore, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._store = store

    async def fetch(self, cert: _Cert, *, use_deltas: bool | None = True) -> list[asn1_crl.CertificateList]:
        cached = self._store.fresh_for(cert)
        if cached:
            return cached
        fetched: list[asn1_crl.CertificateList] = await super().fetch(cert, use_deltas=use_deltas)
        for c in fetched:
            self._store.store(c)
        return fetched


class CachingFetcherBackend(AIOHttpFetcherBackend):
    def __init__(self, store: CrlStore, per_request_timeout: float, *, ocsp: bool = True) -> None:
        super().__init__(per_request_timeout=per_request_timeout)
        self._store = store
        self._ocsp = ocsp

    def get_fetchers(self) -> Fetchers:
        base = super().get_fetchers()
        crl_fetcher = CachingCRLFetcher(
            self._store,
            self.session,
            per_request_timeout=self.per_request_timeout,
            budget=FetchBudget(self.limits),
        )
        ocsp_fetcher: OCSPFetcher = (
            CachingOCSPFetcher(
                self._store,
                self.session,
                per_request_timeout=self.per_request_timeout,
                budget=FetchBudget(self.limits),
            )
            if self._ocsp
            else NoOCSPFetcher()
        )
        return Fetchers(ocsp_fetcher=ocsp_fetcher, crl_fetcher=crl_fetcher, cert_fetcher=base.cert_fetcher)
