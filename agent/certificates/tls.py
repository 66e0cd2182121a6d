"""TLS endpoint probing with the standard library's ssl and cryptography.

For each endpoint: reachable, the chain as the server sends it (read from the TLS 1.2 handshake,
where the Certificate message travels in clear; Python 3.11's ssl only exposes the leaf), whether
the chain verifies to the system plus pinned roots, hostname match, days to expiry, key and
signature algorithm, whether TLS 1.0/1.1 are still accepted, and HSTS on HTTPS.
"""

from __future__ import annotations

import ipaddress
import math
import socket
import ssl
import struct
import warnings
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import cache

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from agent.certificates.config import parse_endpoint
from agent.certificates.trust import TrustSet
from inventory.certificates import platform_module
from inventory.certificates.facts import CertLocation, LocationKind, TlsEndpointResult
from inventory.certificates.parse import describe, fingerprint, is_self_signed, signed_by


class _Capture:
    """Runs a handshake over memory BIOs so that the server's raw bytes can be kept."""

    def __init__(self, sock: socket.socket, ctx: ssl.SSLContext, host: str, timeout: float) -> None:
        self.sock = sock
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        sni = None if _is_ip(host) else host
        self.obj = ctx.wrap_bio(self.incoming, self.outgoing, server_hostname=sni)
        self.received = bytearray()
        sock.settimeout(timeout)

    def handshake(self) -> None:
        while True:
            try:
                self.obj.do_handshake()
                self._flush()
                return
            except ssl.SSLWantReadError:
                self._flush()
                data = self.sock.recv(65536)
                if not data:
                    raise ConnectionError("connection closed during the TLS handshake") from None
                self.received.extend(data)
                self.incoming.write(data)

    def _flush(self) -> None:
        out = self.outgoing.read()
        if out:
            self.sock.sendall(out)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def certificates_in_handshake(raw: bytes) -> list[bytes]:
    """DER certificates of the first TLS 1.2 Certificate handshake message in ``raw`` server bytes."""
    handshake = bytearray()
    pos = 0
    while pos + 5 <= len(raw):
        ctype, _ver, length = struct.unpack("!BHH", raw[pos : pos + 5])
        body = raw[pos + 5 : pos + 5 + length]
        pos += 5 + length
        if ctype == 20:  # ChangeCipherSpec: what follows is encrypted
            break
        if ctype == 22:
            handshake.extend(body)
    hp = 0
    while hp + 4 <= len(handshake):
        mtype = handshake[hp]
        mlen = int.from_bytes(handshake[hp + 1 : hp + 4], "big")
        msg = handshake[hp + 4 : hp + 4 + mlen]
        hp += 4 + mlen
        if mtype == 11:  # Certificate
            total = int.from_bytes(msg[0:3], "big")
            certs, cp = [], 3
            while cp < 3 + total:
                clen = int.from_bytes(msg[cp : cp + 3], "big")
                certs.append(bytes(msg[cp + 3 : cp + 3 + clen]))
                cp += 3 + clen
            return certs
    return []


def _loose_context(
    minimum: ssl.TLSVersion | None = None, maximum: ssl.TLSVersion | None = None
) -> ssl.SSLContext:
    """No verification, every cipher: for looking, never for trusting."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_ciphers("ALL:@SECLEVEL=0")
    with warnings.catch_warnings():
        # Offering TLS 1.0/1.1 is the point of the probe: their deprecation warning is noise here.
        warnings.simplefilter("ignore", DeprecationWarning)
        if minimum is not None:
            ctx.minimum_version = minimum
        if maximum is not None:
            ctx.maximum_version = maximum
    return ctx


@cache
def can_offer(version: ssl.TLSVersion) -> bool:
    """Whether this machine's OpenSSL can send a ClientHello for ``version`` (no network involved)."""
    try:
        ctx = _loose_context(version, version)
        obj = ctx.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO())
        obj.do_handshake()
    except ssl.SSLWantReadError:
        return True  # a ClientHello was produced and it waits for the server
    except (ssl.SSLError, ValueError):
        return False
    return False


def hostname_matches(cert: x509.Certificate, host: str) -> bool:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False  # CN matching is obsolete (RFC 6125); browsers refuse it too
    if _is_ip(host):
        ip = ipaddress.ip_address(host)
        return any(a == ip for a in san.get_values_for_type(x509.IPAddress))
    h = host.lower().rstrip(".")
    for name in san.get_values_for_type(x509.DNSName):
        n = name.lower().rstrip(".")
        if n == h:
            return True
        if n.startswith("*.") and "." in h and h.split(".", 1)[1] == n[2:] and h.split(".", 1)[0]:
            return True
    return False


@cache
def _system_roots() -> tuple[x509.Certificate, ...]:
    return tuple(d.cert for d in platform_module().system_trust_store().items)


def chain_complete(sent: list[x509.Certificate], anchors: Iterable[x509.Certificate]) -> bool:
    """The sent chain links leaf to issuer all the way to a root it contains or the trust store holds."""
    if not sent:
        return False
    roots = list(anchors)
    current = sent[0]
    rest = sent[1:]
    for _ in range(10):
        if is_self_signed(current) or any(signed_by(current, r) for r in roots):
            return True
        nxt = next((c for c in rest if signed_by(current, c)), None)
        if nxt is None:
            return False
        current = nxt
    return False


def _connect(host: str, port: int, timeout: float) -> socket.socket:
    return socket.create_connection((host, port), timeout=timeout)


def _verify_context(trust: TrustSet) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False  # judged separately, so a name mismatch and a bad chain are told apart
    pem = "".join(
        c.public_bytes(serialization.Encoding.PEM).decode() for c in [*trust.anchors, *trust.intermediates]
    )
    if pem:
        ctx.load_verify_locations(cadata=pem)
    return ctx


def _accepts(host: str, port: int, version: ssl.TLSVersion, timeout: float) -> bool | None:
    if not can_offer(version):
        return None
    ctx = _loose_context(version, version)
    try:
        with (
            _connect(host, port, timeout) as sock,
            ctx.wrap_socket(sock, server_hostname=None if _is_ip(host) else host),
        ):
            return True
    except (ssl.SSLError, ConnectionError):
        return False
    except OSError:
        return None


def _hsts(host: str, port: int, path: str, timeout: float) -> tuple[bool | None, str | None, int | None]:
    ctx = _loose_context()
    try:
        with (
            _connect(host, port, timeout) as sock,
            ctx.wrap_socket(sock, server_hostname=None if _is_ip(host) else host) as tls,
        ):
            hosthdr = host if port == 443 else f"{host}:{port}"
            req = (
                f"HEAD {path or '/'} HTTP/1.1\r\nHost: {hosthdr}\r\n"
                "User-Agent: wardwatch-agent\r\nConnection: close\r\n\r\n"
            )
            tls.sendall(req.encode("ascii", "ignore"))
            data = b""
            while b"\r\n\r\n" not in data and len(data) < 65536:
                chunk = tls.recv(4096)
                if not chunk:
                    break
                data += chunk
    except (OSError, ssl.SSLError):
        return None, None, None
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    lines = head.split("\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        return None, None, None
    for line in lines[1:]:
        key, _, value = line.partition(":")
        if key.strip().lower() == "strict-transport-security":
            value = value.strip()
            max_age = 0
            for part in value.split(";"):
                k, _, v = part.strip().partition("=")
                if k.lower() == "max-age":
                    try:
                        max_age = int(v.strip().strip('"'))
                    except ValueError:
                        max_age = 0
            return max_age > 0, value, status
    return False, None, status


def probe(
    target: str,
    trust: TrustSet,
    *,
    timeout: float = 10.0,
    system_roots: Iterable[x509.Certificate] | None = None,
    now: datetime | None = None,
) -> TlsEndpointResult:
    host, port, scheme = parse_endpoint(target)
    path = ""
    if "://" in target:
        from urllib.parse import urlsplit

        parts = urlsplit(target)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
    result = TlsEndpointResult(target=target, host=host, port=port, scheme=scheme)
    roots = list(system_roots) if system_roots is not None else list(_system_roots())
    roots += trust.anchors
    # 1. The chain as sent: TLS 1.2 at most, so the Certificate message is readable.
    sent: list[x509.Certificate] = []
    try:
        with _connect(host, port, timeout) as sock:
            cap = _Capture(sock, _loose_context(maximum=ssl.TLSVersion.TLSv1_2), host, timeout)
            cap.handshake()
            sent = [x509.load_der_x509_certificate(d) for d in certificates_in_handshake(bytes(cap.received))]
    except (OSError, ssl.SSLError, ValueError) as exc:
        if isinstance(exc, (ConnectionRefusedError, socket.gaierror, TimeoutError)):
            result.error = f"cannot connect to {host}:{port}: {exc}"
            return result
        sent = []  # a TLS 1.3-only server: the chain is encrypted, only the leaf can be seen below
    # 2. A verifying handshake (system + pinned roots) at the best protocol both sides speak.
    leaf_der: bytes | None = None
    try:
        with (
            _connect(host, port, timeout) as sock,
            _verify_context(trust).wrap_socket(sock, server_hostname=None if _is_ip(host) else host) as tls,
        ):
            result.verified = True
            result.protocol = tls.version()
            leaf_der = tls.getpeercert(binary_form=True)
    except ssl.SSLCertVerificationError as exc:
        result.verified = False
        result.verify_error = exc.verify_message or str(exc)
    except ssl.SSLError as exc:
        result.verified = False
        result.verify_error = f"handshake failed: {exc.reason or exc}"
    except OSError as exc:
        result.error = f"cannot connect to {host}:{port}: {exc}"
        return result
    result.reachable = True
    if leaf_der is None:
        try:
            with (
                _connect(host, port, timeout) as sock,
                _loose_context().wrap_socket(sock, server_hostname=None if _is_ip(host) else host) as tls,
            ):
                result.protocol = result.protocol or tls.version()
                leaf_der = tls.getpeercert(binary_form=True)
        except (OSError, ssl.SSLError) as exc:
            result.error = f"TLS handshake failed: {exc}"
    leaf = x509.load_der_x509_certificate(leaf_der) if leaf_der else (sent[0] if sent else None)
    if leaf is not None:
        result.leaf = describe(leaf, CertLocation(kind=LocationKind.TLS, path=f"{host}:{port}"))
        result.hostname_matches = hostname_matches(leaf, host)
        now = now or datetime.now(UTC)
        result.days_to_expiry = math.floor((leaf.not_valid_after_utc - now).total_seconds() / 86400)
    if sent:
        result.chain_sent_sha256 = [fingerprint(c) for c in sent]
        result.chain_complete = chain_complete(sent, roots)
    # 3. Old protocols, then HSTS for HTTPS services.
    result.tls10_accepted = _accepts(host, port, ssl.TLSVersion.TLSv1, timeout)
    result.tls11_accepted = _accepts(host, port, ssl.TLSVersion.TLSv1_1, timeout)
    if scheme == "https":
        result.hsts, result.hsts_header, result.http_status = _hsts(host, port, path, timeout)
    return result
