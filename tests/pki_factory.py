"""A real PKI for the tests: roots, intermediates, leaves and CRLs made with cryptography.

SHA-1 certificates are made by re-signing the TBS with asn1crypto, because cryptography no longer
signs certificates with SHA-1 (old Vietnamese roots still are).
"""

from __future__ import annotations

import datetime as dt
import http.server
import ipaddress
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

UTC = dt.UTC
NOW = dt.datetime.now(UTC).replace(microsecond=0)
DAY = dt.timedelta(days=1)

_KEYS: dict[tuple[str, int], object] = {}


def rsa_key(bits: int = 2048, slot: int = 0) -> rsa.RSAPrivateKey:
    """Keys are cached per (size, slot): generating RSA keys is the slow part of these tests."""
    k = _KEYS.get(("rsa", bits * 100 + slot))
    if k is None:
        k = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        _KEYS[("rsa", bits * 100 + slot)] = k
    return k  # type: ignore[return-value]


def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def name(cn: str, o: str = "Wardwatch Test PKI") -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, o),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


@dataclass
class Issued:
    cert: x509.Certificate
    key: object

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    def key_pem(self) -> bytes:
        return self.key.private_bytes(  # type: ignore[attr-defined]
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )


@dataclass
class Revoked:
    serial: int
    when: dt.datetime


def issue(
    cn: str,
    *,
    issuer: Issued | None = None,
    key: object | None = None,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    ca: bool = False,
    key_usage: tuple[str, ...] | None = None,
    eku: tuple[x509.ObjectIdentifier, ...] = (),
    crl_url: str | None = None,
    ocsp_url: str | None = None,
    san: tuple[str, ...] = (),
    sha1: bool = False,
    serial: int | None = None,
    o: str = "Wardwatch Test PKI",
) -> Issued:
    key = key or rsa_key()
    subject = name(cn, o)
    signer_key = issuer.key if issuer else key
    issuer_name = issuer.cert.subject if issuer else subject
    usages = key_usage or (
        ("key_cert_sign", "crl_sign") if ca else ("digital_signature", "content_commitment")
    )
    ku = {
        f: f in usages
        for f in (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
        )
    }
    b = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())  # type: ignore[attr-defined]
        .serial_number(serial or x509.random_serial_number())
        .not_valid_before(not_before or NOW - DAY)
        .not_valid_after(not_after or NOW + 365 * DAY)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(**ku, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)  # type: ignore[attr-defined]
    )
    if issuer:
        b = b.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),  # type: ignore[attr-defined]
            critical=False,
        )
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
    if crl_url:
        b = b.add_extension(
            x509.CRLDistributionPoints(
                [x509.DistributionPoint([x509.UniformResourceIdentifier(crl_url)], None, None, None)]
            ),
            critical=False,
        )
    if ocsp_url:
        b = b.add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url)
                    )
                ]
            ),
            critical=False,
        )
    if san:
        names: list[x509.GeneralName] = []
        for s in san:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(s)))
            except ValueError:
                names.append(x509.DNSName(s))
        b = b.add_extension(x509.SubjectAlternativeName(names), critical=False)
    cert = b.sign(signer_key, hashes.SHA256())  # type: ignore[arg-type]
    if sha1:
        cert = _resign_sha1(cert, signer_key)
    return Issued(cert, key)


def _resign_sha1(cert: x509.Certificate, signer_key: object) -> x509.Certificate:
    a = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    tbs = a["tbs_certificate"]
    tbs["signature"] = {"algorithm": "sha1_rsa"}
    tbs_der = tbs.dump(force=True)
    sig = signer_key.sign(tbs_der, padding.PKCS1v15(), hashes.SHA1())  # type: ignore[attr-defined]
    new = asn1_x509.Certificate(
        {"tbs_certificate": tbs, "signature_algorithm": {"algorithm": "sha1_rsa"}, "signature_value": sig}
    )
    return x509.load_der_x509_certificate(new.dump(force=True))


def make_crl(
    ca: Issued, revoked: list[Revoked] = (), *, this_update: dt.datetime | None = None, days: int = 7
) -> bytes:  # type: ignore[assignment]
    b = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.cert.subject)
        .last_update(this_update or NOW - DAY)
        .next_update((this_update or NOW) + days * DAY)
        .add_extension(x509.CRLNumber(1), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),  # type: ignore[attr-defined]
            critical=False,
        )
    )
    for r in revoked:
        b = b.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(r.serial)
            .revocation_date(r.when)
            .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False)
            .build()
        )
    return b.sign(ca.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)  # type: ignore[arg-type]


def ocsp_responder(
    ca: Issued, certs: list[Issued], revoked: dict[int, dt.datetime]
) -> Callable[[bytes], bytes]:
    """An OCSP responder for ``ca``'s ``certs``: answers signed by the CA itself, valid 7 days."""
    by_serial = {c.cert.serial_number: c for c in certs}

    def answer(body: bytes) -> bytes:
        req = ocsp.load_der_ocsp_request(body)
        issued = by_serial.get(req.serial_number)
        if issued is None:
            return ocsp.OCSPResponseBuilder.build_unsuccessful(
                ocsp.OCSPResponseStatus.UNAUTHORIZED
            ).public_bytes(serialization.Encoding.DER)
        when = revoked.get(req.serial_number)
        b = ocsp.OCSPResponseBuilder().add_response(
            cert=issued.cert,
            issuer=ca.cert,
            algorithm=req.hash_algorithm,
            cert_status=ocsp.OCSPCertStatus.REVOKED if when else ocsp.OCSPCertStatus.GOOD,
            this_update=NOW - DAY,
            next_update=NOW + 7 * DAY,
            revocation_time=when,
            revocation_reason=x509.ReasonFlags.key_compromise if when else None,
        )
        b = b.responder_id(ocsp.OCSPResponderEncoding.HASH, ca.cert)
        for ext in req.extensions:
            if isinstance(ext.value, x509.OCSPNonce):
                b = b.add_extension(ext.value, critical=False)  # echo the nonce the client asked with
        return b.sign(ca.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)  # type: ignore[arg-type]

    return answer


class FileServer:
    """A real HTTP server on 127.0.0.1 serving bytes by path (CRLs) and POST answers (OCSP), in a thread."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.posts: dict[str, Callable[[bytes], bytes]] = {}
        self.hits: list[str] = []
        files, posts, hits = self.files, self.posts, self.hits

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                hits.append(self.path)
                handler = posts.get(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if handler is None:
                    self.send_error(404)
                    return
                out = handler(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/ocsp-response")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def do_GET(self) -> None:
                hits.append(self.path)
                body = files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/pkix-crl")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def dead_port() -> int:
    """A port on 127.0.0.1 with nothing listening: connections are refused at once."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@dataclass
class Pki:
    server: FileServer
    root: Issued
    inter: Issued
    leaves: dict[str, Issued] = field(default_factory=dict)
    other_root: Issued | None = None
    other_inter: Issued | None = None
    tls: dict[str, Issued] = field(default_factory=dict)
    revoked_at: dt.datetime = NOW - 30 * DAY


SERVER_AUTH = (ExtendedKeyUsageOID.SERVER_AUTH,)


def build_pki(server: FileServer) -> Pki:
    root = issue("WW Test Root CA", ca=True, not_before=NOW - 3650 * DAY, not_after=NOW + 3650 * DAY)
    inter = issue(
        "WW Test Signing CA",
        issuer=root,
        key=rsa_key(2048, 1),
        ca=True,
        not_before=NOW - 1000 * DAY,
        not_after=NOW + 2000 * DAY,
        crl_url=server.url("/root.crl"),
    )
    crl = server.url("/inter.crl")
    leaf_key = rsa_key(2048, 2)
    p = Pki(server=server, root=root, inter=inter)

    def mk(cn, **kw):
        return issue(cn, issuer=inter, key=kw.pop("key", leaf_key), crl_url=kw.pop("crl", crl), **kw)

    p.leaves["valid"] = mk("Nguyen Van A")
    p.leaves["expired"] = mk("Tran Thi B", not_before=NOW - 400 * DAY, not_after=NOW - 10 * DAY)
    p.leaves["not_yet_valid"] = mk("Le Van C", not_before=NOW + 10 * DAY, not_after=NOW + 400 * DAY)
    p.leaves["revoked"] = mk("Pham Van D", not_before=NOW - 100 * DAY)
    p.leaves["crl_unreachable"] = mk("Hoang Van E", crl=f"http://127.0.0.1:{dead_port()}/gone.crl")
    p.leaves["wrong_key_usage"] = mk("Vu Thi F", key_usage=("key_encipherment",))
    p.leaves["sha1"] = mk("Do Van G", sha1=True)
    p.leaves["rsa1024"] = mk("Bui Van H", key=rsa_key(1024))
    p.leaves["missing_intermediate"] = mk("Dang Van I")
    p.leaves["expiring_20d"] = mk("Ngo Van K", not_after=NOW + 20 * DAY)
    other_root = issue("Unknown Root CA", ca=True, key=rsa_key(2048, 3), o="Not Trusted")
    other_inter = issue(
        "Unknown Issuing CA", issuer=other_root, key=rsa_key(2048, 4), ca=True, o="Not Trusted"
    )
    p.other_root, p.other_inter = other_root, other_inter
    p.leaves["untrusted_root"] = issue("Ly Van L", issuer=other_inter, key=leaf_key, o="Not Trusted")
    server.files["/root.crl"] = make_crl(root)
    server.files["/inter.crl"] = make_crl(
        inter, [Revoked(p.leaves["revoked"].cert.serial_number, p.revoked_at)]
    )
    # TLS server certificates (no CRL: TLS checks are about the chain, names, expiry, protocols).
    tkey = rsa_key(2048, 5)
    t = lambda cn, **kw: issue(cn, issuer=inter, key=kw.pop("key", tkey), eku=SERVER_AUTH, **kw)  # noqa: E731
    loc = ("localhost", "127.0.0.1")
    p.tls["valid"] = t("localhost", san=loc, key_usage=("digital_signature", "key_encipherment"))
    p.tls["expired"] = t("localhost", san=loc, not_before=NOW - 400 * DAY, not_after=NOW - 5 * DAY)
    p.tls["not_yet_valid"] = t("localhost", san=loc, not_before=NOW + 5 * DAY, not_after=NOW + 400 * DAY)
    p.tls["hostname_mismatch"] = t("portal.example.vn", san=("portal.example.vn",))
    p.tls["expiring_10d"] = t("localhost", san=loc, not_after=NOW + 10 * DAY)
    p.tls["sha1"] = t("localhost", san=loc, sha1=True)
    p.tls["rsa1024"] = t("localhost", san=loc, key=rsa_key(1024))
    p.tls["untrusted_root"] = issue("localhost", issuer=other_inter, key=tkey, eku=SERVER_AUTH, san=loc)
    return p


class TlsServer:
    """A real TLS server on 127.0.0.1 in a thread; answers HTTP HEAD/GET with optional HSTS."""

    def __init__(
        self,
        chain: list[Issued],
        tmp_dir,  # type: ignore[no-untyped-def]
        *,
        minimum: object | None = None,
        maximum: object | None = None,
        hsts: str | None = None,
    ) -> None:
        import ssl

        cert_file = tmp_dir / f"chain-{id(self)}.pem"
        key_file = tmp_dir / f"key-{id(self)}.pem"
        cert_file.write_bytes(b"".join(i.pem for i in chain))
        key_file.write_bytes(chain[0].key_pem())
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.set_ciphers("ALL:@SECLEVEL=0")  # so that RSA-1024 and SHA-1 certificates can be served
        if minimum is not None:
            ctx.minimum_version = minimum  # type: ignore[assignment]
        if maximum is not None:
            ctx.maximum_version = maximum  # type: ignore[assignment]
        ctx.load_cert_chain(cert_file, key_file)
        self.ctx = ctx
        self.hsts = hsts
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        import ssl

        conn.settimeout(5)
        try:
            with self.ctx.wrap_socket(conn, server_side=True) as tls:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = tls.recv(4096)
                    if not chunk:
                        return
                    data += chunk
                headers = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n"
                if self.hsts:
                    headers += f"Strict-Transport-Security: {self.hsts}\r\n"
                tls.sendall((headers + "\r\n").encode())
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self._stop = True
        self.sock.close()


def blank_pdf() -> bytes:
    """A one-page PDF written by pyHanko's own writer."""
    from io import BytesIO

    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.writer import PdfFileWriter

    w = PdfFileWriter()
    page = generic.DictionaryObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/Page"),
            generic.NameObject("/MediaBox"): generic.ArrayObject(
                [
                    generic.NumberObject(0),
                    generic.NumberObject(0),
                    generic.NumberObject(595),
                    generic.NumberObject(842),
                ]
            ),
            generic.NameObject("/Resources"): generic.DictionaryObject(),
        }
    )
    w.insert_page(page)
    buf = BytesIO()
    w.write(buf)
    return buf.getvalue()


def _signer(leaf: Issued, chain: list[Issued]):  # type: ignore[no-untyped-def]
    from asn1crypto import keys
    from asn1crypto import x509 as ax
    from pyhanko.sign import signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    key_der = leaf.key.private_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return signers.SimpleSigner(
        signing_cert=ax.Certificate.load(leaf.der),
        signing_key=keys.PrivateKeyInfo.load(key_der),
        cert_registry=SimpleCertificateStore.from_certs([ax.Certificate.load(c.der) for c in chain]),
    )


def timestamper(tsa: Issued, chain: list[Issued]):  # type: ignore[no-untyped-def]
    from asn1crypto import keys
    from asn1crypto import x509 as ax
    from pyhanko.sign.timestamps import DummyTimeStamper
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    key_der = tsa.key.private_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return DummyTimeStamper(
        tsa_cert=ax.Certificate.load(tsa.der),
        tsa_key=keys.PrivateKeyInfo.load(key_der),
        certs_to_embed=SimpleCertificateStore.from_certs([ax.Certificate.load(c.der) for c in chain]),
    )


def sign_pdf(pdf: bytes, leaf: Issued, chain: list[Issued], *, tsa=None) -> bytes:  # type: ignore[no-untyped-def]
    from io import BytesIO

    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers

    w = IncrementalPdfFileWriter(BytesIO(pdf))
    out = signers.sign_pdf(
        w, signers.PdfSignatureMetadata(field_name="ChuKy1"), signer=_signer(leaf, chain), timestamper=tsa
    )
    return out.getvalue()


def sign_detached(data: bytes, leaf: Issued, chain: list[Issued]) -> bytes:
    import asyncio

    ci = asyncio.run(_signer(leaf, chain).async_sign_general_data(data, "sha256", detached=True))
    return ci.dump()


# The session's PKI as fixtures; the conftest.py of each folder that uses them imports them.
@pytest.fixture(scope="session")
def crl_server() -> Iterator[FileServer]:
    server = FileServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def pki(crl_server: FileServer) -> Pki:
    return build_pki(crl_server)
