"""Certificate module figures: discovery, signing-certificate validation, TLS probing, PDF validation.

Run: python bench/certificates.py [N]   (N signing certificates, default 50). Prints figures; asserts nothing.
Everything is local: a generated PKI, CRLs served over HTTP on 127.0.0.1, a TLS server on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "pki"))

from pki_factory import FileServer, TlsServer, blank_pdf, build_pki, issue, sign_pdf

from agent.certificates.documents import validate_document
from agent.certificates.revocation import CrlStore
from agent.certificates.tls import probe
from agent.certificates.trust import TrustSet
from agent.certificates.validate import SigningValidator
from inventory.certificates import platform_module


def main(n: int) -> None:
    t = time.perf_counter()
    store = platform_module().system_trust_store()
    print(f"system trust store: {len(store.items)} certificates in {1000 * (time.perf_counter() - t):.0f} ms")

    server = FileServer()
    pki = build_pki(server)
    leaves = [
        issue(
            f"Can bo {i}", issuer=pki.inter, key=pki.leaves["valid"].key, crl_url=server.url("/inter.crl")
        ).cert
        for i in range(n)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for label, cache in (("cold CRL cache", Path(tmp)), ("warm CRL cache", Path(tmp))):
            validator = SigningValidator(
                TrustSet(anchors=[pki.root.cert]), other_certs=[pki.inter.cert], crl_store=CrlStore(cache)
            )
            hits = len(server.hits)

            async def run() -> None:
                async with validator.session():  # noqa: B023
                    for c in leaves:
                        await validator.validate(c)  # noqa: B023

            t = time.perf_counter()
            asyncio.run(run())
            dt = time.perf_counter() - t
            print(
                f"validate {n} signing certificates ({label}): {dt:.2f} s, {1000 * dt / n:.1f} ms each, "
                f"{len(server.hits) - hits} CRL downloads"
            )

        tls = TlsServer([pki.tls["valid"], pki.inter], Path(tmp))
        t = time.perf_counter()
        for _ in range(5):
            probe(tls.target, TrustSet(anchors=[pki.root.cert]), system_roots=[])
        each = 1000 * (time.perf_counter() - t) / 5
        print(f"TLS probe (chain, verify, TLS1.0/1.1, no HSTS): {each:.0f} ms each")
        tls.close()

        pdf = Path(tmp) / "signed.pdf"
        pdf.write_bytes(sign_pdf(blank_pdf(), pki.leaves["valid"], [pki.inter, pki.root]))
        validator = SigningValidator(TrustSet(anchors=[pki.root.cert]), other_certs=[pki.inter.cert])

        async def docs() -> None:
            async with validator.session():
                for _ in range(10):
                    await validate_document(pdf, validator)

        t = time.perf_counter()
        asyncio.run(docs())
        print(f"PDF signature validation: {1000 * (time.perf_counter() - t) / 10:.0f} ms each")
    server.close()
    print(f"max RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
