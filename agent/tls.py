"""TLS to the collector: default verification, a private CA bundle, or a pinned certificate.

A pin is checked on every new TLS connection right after the handshake and before a single HTTP
byte (the agent key included) is written, by wrapping httpcore's network backend. Through an
``http://`` proxy the pin applies to the tunnelled connection to the collector; an ``https://``
proxy URL is not supported together with a pin.
"""

from __future__ import annotations

import hashlib
import hmac
import ssl
import urllib.request
from pathlib import Path
from typing import Any

import httpcore
import httpx

from agent.errors import TlsError


def ssl_context(
    *, ca_bundle: Path | None, pinned: bool, client_cert: Path | None = None
) -> ssl.SSLContext | bool:
    """What httpx gets as ``verify``. With a pin and no CA bundle, the pin alone authenticates.

    ``client_cert``: a PEM file with the agent's certificate and key, presented when the collector asks.
    """
    if ca_bundle is not None:
        if not ca_bundle.exists():
            raise TlsError(f"ca_bundle {ca_bundle} does not exist")
        ctx = ssl.create_default_context(cafile=str(ca_bundle))
    elif pinned:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    elif client_cert is not None:
        ctx = httpx.create_ssl_context()  # httpx's own default trust (certifi, SSL_CERT_FILE)
    else:
        return True
    if client_cert is not None:
        try:
            ctx.load_cert_chain(str(client_cert))
        except (OSError, ssl.SSLError) as exc:
            raise TlsError(f"cannot use the client certificate {client_cert}: {exc}") from exc
    return ctx


def cert_sha256(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


class _PinnedStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, pin: str) -> None:
        self._inner = inner
        self._pin = pin

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._inner.close()

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        tls = self._inner.start_tls(ssl_context, server_hostname, timeout)
        ssl_object = tls.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(True) if ssl_object is not None else None
        got = cert_sha256(der) if der else ""
        if not hmac.compare_digest(got, self._pin):
            tls.close()
            raise TlsError(
                f"the collector at {server_hostname} presented a certificate with SHA-256 {got or 'none'}, "
                f"not the pinned {self._pin}; nothing was sent"
            )
        return tls


class PinningBackend(httpcore.NetworkBackend):
    def __init__(self, pin: str) -> None:
        self._inner = httpcore.SyncBackend()
        self._pin = pin

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _PinnedStream(stream, self._pin)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        return _PinnedStream(self._inner.connect_unix_socket(path, timeout, socket_options), self._pin)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class PinnedTransport(httpx.HTTPTransport):
    """httpx's transport with a pin-checking network backend (direct or through an http:// proxy)."""

    def __init__(self, *, pin: str, verify: ssl.SSLContext, proxy: str | None, limits: httpx.Limits) -> None:
        super().__init__(verify=verify, limits=limits)
        backend = PinningBackend(pin)
        common: dict[str, Any] = {
            "ssl_context": verify,
            "max_connections": limits.max_connections,
            "max_keepalive_connections": limits.max_keepalive_connections,
            "keepalive_expiry": limits.keepalive_expiry,
            "network_backend": backend,
        }
        if proxy:
            p = httpx.Proxy(url=proxy)
            if p.url.scheme != "http":
                raise TlsError(f"a pinned certificate needs an http:// proxy, not {p.url.scheme}://")
            self._pool = httpcore.HTTPProxy(
                proxy_url=httpcore.URL(
                    scheme=p.url.raw_scheme, host=p.url.raw_host, port=p.url.port, target=p.url.raw_path
                ),
                proxy_auth=p.raw_auth,
                proxy_headers=p.headers.raw,
                **common,
            )
        else:
            self._pool = httpcore.ConnectionPool(**common)


def env_proxy_for(url: str) -> str | None:
    """The proxy the environment (HTTPS_PROXY, NO_PROXY, Windows settings) names for ``url``."""
    parsed = httpx.URL(url)
    if urllib.request.proxy_bypass(parsed.host):
        return None
    return urllib.request.getproxies().get(parsed.scheme)
