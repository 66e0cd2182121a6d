"""Who is on the other end: forwarded headers believed only from trusted proxies, and the TLS peer.

``X-Forwarded-For``/``X-Forwarded-Proto`` (and a client certificate forwarded in ``X-Client-Cert``
by a proxy that verified it) count only when the TCP peer is one of ``forwarded_allow_ips``; none is
trusted by default, so a client cannot claim TLS or another address by sending a header.

When the collector terminates TLS itself (``wardwatch serve --tls-cert``), the certificate a client
presented is put in the request state by ``PeerCertH11Protocol``.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import unquote

from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from uvicorn.protocols.http.h11_impl import H11Protocol

# Request-state keys (``request.state.<key>``).
PEER_CERT = "tls_peer_cert_der"  # DER of the certificate the TLS client presented, or None
FORWARDED_CERT = "forwarded_client_cert_pem"  # PEM a trusted proxy forwarded, or None
CLIENT_CERT_HEADER = b"x-client-cert"


class TrustedProxy:
    """Pure ASGI middleware wrapping uvicorn's proxy-header handling with an explicit trust list."""

    def __init__(self, app: Any, trusted: str) -> None:
        self.trusted = trusted.strip()
        self.app = app
        self.inner = ProxyHeadersMiddleware(app, trusted_hosts=self.trusted) if self.trusted else app
        self._hosts = self.inner.trusted_hosts if self.trusted else None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            state = scope.setdefault("state", {})
            state.pop(FORWARDED_CERT, None)
            client = scope.get("client")
            if self._hosts is not None and client and client[0] in self._hosts:
                for name, value in scope["headers"]:
                    if name == CLIENT_CERT_HEADER and value.strip():
                        # nginx's $ssl_client_escaped_cert: the PEM, URL-encoded.
                        state[FORWARDED_CERT] = unquote(value.decode("latin-1"))
        await self.inner(scope, receive, send)


class PeerCertH11Protocol(H11Protocol):
    """uvicorn's h11 protocol that also records the client certificate of a TLS connection."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        # Every request's scope["state"] is a copy of app_state: per connection, the peer's certificate.
        self.app_state = {**self.app_state, PEER_CERT: der}
