"""A real RFC 3161 timestamp server on 127.0.0.1 for tests: HTTP in a thread, answers made by pyHanko's
test timestamper with a TSA certificate of the test PKI."""

from __future__ import annotations

import http.server
import threading
from typing import Any

from asn1crypto import keys, tsp
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from tests.pki_factory import Issued, issue, rsa_key


class TsaServer:
    def __init__(self, ca: Issued) -> None:
        from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

        from collector.pdfsign import asn1

        self.cert = issue(
            "Wardwatch Test TSA", issuer=ca, key=rsa_key(2048, 15), eku=(ExtendedKeyUsageOID.TIME_STAMPING,)
        )
        key = keys.PrivateKeyInfo.load(
            self.cert.key.private_bytes(  # type: ignore[attr-defined]
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        stamper = DummyTimeStamper(tsa_cert=asn1(self.cert.cert), tsa_key=key, certs_to_embed=[asn1(ca.cert)])
        self.requests = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Content-Type") != "application/timestamp-query":
                    self.send_error(415)
                    return
                server.requests += 1
                answer: Any = stamper.request_tsa_response(tsp.TimeStampReq.load(body))
                out = answer.dump()
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/tsa"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
